import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VqlDataError } from './errors.js';
import { readKuaiRandLikeHate, readKuaiRandLog } from './kuairand.js';
import { readKuaiRec } from './kuairec.js';
import { readMovieLens } from './movielens.js';
import { readTaobao } from './taobao.js';
import { writeFixture } from './testing/fixtures.js';
import { readTmall } from './tmall.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vql-data-readers-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function expectError(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VqlDataError);
  expect((error as VqlDataError).code).toBe(code);
  expect((error as VqlDataError).message).toMatch(pattern);
}

describe('readMovieLens', () => {
  it('parses quoted titles, gz files, labels by threshold and sorts by time stably', async () => {
    const d = join(dir, 'ml');
    writeFixture(
      join(d, 'movies.csv'),
      'movieId,title,genres\n10,"Heat, The (1995)",Action|Crime\n20,Up (2009),Animation\n30,"Odd ""Quote"", A",(no genres listed)\n',
    );
    writeFixture(
      join(d, 'ratings.csv.gz'),
      'userId,movieId,rating,timestamp\n5,20,4.0,300\n5,10,3.5,100\n5,30,5.0,300\n7,10,4.5,50\n',
    );
    const t = await readMovieLens({ dir: d });
    expect(t.schema).toMatchObject({ numUsers: 2, numItems: 3, hasExplicitLabels: true });
    // user 5 (dense 1): times 100, 300, 300 with the file order kept inside the tie
    expect(Array.from(t.time.subarray(0, 3))).toEqual([100, 300, 300]);
    expect(Array.from(t.item.subarray(0, 3)).map((i) => t.rawItemId[i])).toEqual([10, 20, 30]);
    expect(Array.from(t.label)).toEqual([0, 1, 1, 1]);
    expect(Array.from(t.userOffsets)).toEqual([0, 0, 3, 4]);
    const spec = t.schema.context[0]!;
    expect(spec).toEqual({ name: 'genres', kind: 'multi', scope: 'item', vocabSize: 4, width: 2 });
    const heat = t.item[0]!; // raw 10
    const g = t.itemContext.genres!;
    expect(Array.from(g.subarray(heat * 2, heat * 2 + 2)).map((v) => t.vocabularies.genres![v])).toEqual(['Action', 'Crime']);
  });

  it('names file and line for a wrong column count, a non-numeric id and a NaN time', async () => {
    const d = join(dir, 'ml-bad');
    writeFixture(join(d, 'movies.csv'), 'movieId,title,genres\n1,A,Drama\n');
    writeFixture(join(d, 'ratings.csv'), 'userId,movieId,rating,timestamp\n1,1,4,10\n1,1,4\n');
    await expectError(readMovieLens({ dir: d }), 'BAD_COLUMN_COUNT', /ratings\.csv:3: expected 4 columns, got 3/);
    writeFixture(join(d, 'ratings.csv'), 'userId,movieId,rating,timestamp\n1,1,4,10\nbob,1,4,11\n');
    await expectError(readMovieLens({ dir: d }), 'BAD_VALUE', /ratings\.csv:3 column "userId".*"bob"/);
    writeFixture(join(d, 'ratings.csv'), 'userId,movieId,rating,timestamp\n1,1,4,NaN\n');
    await expectError(readMovieLens({ dir: d }), 'BAD_VALUE', /ratings\.csv:2 column "timestamp".*"NaN"/);
    writeFixture(join(d, 'ratings.csv'), 'userId,movie,rating,timestamp\n1,1,4,10\n');
    await expectError(readMovieLens({ dir: d }), 'MISSING_COLUMN', /"movieId"/);
  });

  it('reports a missing file with the paths it tried', async () => {
    await expectError(readMovieLens({ dir: join(dir, 'nowhere') }), 'FILE_NOT_FOUND', /ratings\.csv and .*ratings\.csv\.gz/);
  });
});

describe('readTaobao and cleaning', () => {
  it('drops and counts negative, far-future, out-of-window and duplicate rows and empty users', async () => {
    const file = writeFixture(
      join(dir, 'tb', 'UserBehavior.csv'),
      [
        '1,100,7,pv,1511600000',
        '1,100,7,pv,1511600000', // duplicate
        '1,101,8,buy,1511600100',
        '1,100,7,cart,1511600000', // same instant, other behaviour: not a duplicate
        '2,102,8,pv,-5', // negative → user 2 empty
        '3,103,9,pv,4102444800', // far future
        '3,104,9,fav,1505117799', // outside the official window (when asked)
        '3,105,9,pv,1511700000',
      ].join('\n'),
    );
    const t = await readTaobao({ file, cleaning: { timeWindow: [1511539200, 1512316800] } });
    expect(t.report).toMatchObject({
      rowsRead: 8,
      eventsKept: 4,
      droppedDuplicates: 1,
      droppedNegativeTime: 1,
      droppedFutureTime: 1,
      droppedOutOfWindow: 1,
      droppedUsers: 1,
    });
    expect(t.schema.numUsers).toBe(2);
    expect(Array.from(t.rawUserId)).toEqual([0, 1, 3]);
    expect(t.vocabularies.behavior).toEqual(['', 'pv', 'buy', 'cart', 'fav']);
    const beh = t.eventContext.behavior!;
    expect(Array.from(beh.subarray(0, 3)).map((b) => t.vocabularies.behavior![b])).toEqual(['pv', 'cart', 'buy']);
    const cat = t.itemContext.category!;
    expect(t.vocabularies.category![cat[t.item[2]!]!]).toBe('8');
    await expectError(readTaobao({ file, cleaning: { duplicates: 'error' } }), 'DUPLICATE_EVENT', /UserBehavior\.csv:2: duplicate of the event on line 1/);
    const kept = await readTaobao({ file, cleaning: { duplicates: 'keep', minEventsPerUser: 3 } });
    expect(kept.report).toMatchObject({ droppedDuplicates: 0, droppedUsers: 2, droppedShortUserEvents: 2, eventsKept: 4 });
  });

  it('refuses bad cleaning options by name', async () => {
    const file = writeFixture(join(dir, 'tb2', 'UserBehavior.csv'), '1,2,3,pv,1511600000\n');
    await expectError(readTaobao({ file, cleaning: { minEventsPerUser: 0 } }), 'INVALID_ARGUMENT', /minEventsPerUser/);
    await expectError(readTaobao({ file, cleaning: { timeWindow: [5, 1] } }), 'INVALID_ARGUMENT', /timeWindow/);
  });
});

describe('KuaiRand readers', () => {
  const header = 'user_id\tvideo_id\tdate\thourmin\ttime_ms\tis_click\tis_follow\tis_comment\tis_forward\tlong_view\tplay_time_ms\tduration_ms\tcomment_stay_time\tis_profile_enter\tlabel\ttimestamp';
  it('reads the like/hate TSV out of time order, with video features', async () => {
    const d = join(dir, 'kr');
    writeFixture(
      join(d, 'likehate_standard_kcore15.tsv.gz'),
      [
        header,
        '9\t1\t20220410\t1700\t1649581149000\t1\t0\t0\t0\t1\t5000\t10000\t0\t0\t1\tx',
        '9\t2\t20220410\t1700\t1649581000000\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\tx',
      ].join('\n'),
    );
    writeFixture(
      join(d, 'video_features_basic_pure.csv'),
      'video_id,author_id,video_type,upload_dt,upload_type,visible_status,video_duration,server_width,server_height,music_id,music_type,tag\n1,5,NORMAL,2022-04-10,x,0,10000,1,1,1,1,"39,12"\n',
    );
    const t = await readKuaiRandLikeHate({ dir: d });
    expect(Array.from(t.time)).toEqual([1649581000, 1649581149]);
    expect(Array.from(t.label)).toEqual([0, 1]);
    expect(Array.from(t.eventContext.play_ratio!)).toEqual([0, 0.5]);
    expect(t.report.itemsMissingContext).toMatchObject({ tag: 1, video_type: 1, duration: 1 });
    const v1 = t.item[1]!;
    const tags = Array.from(t.itemContext.tag!.subarray(v1 * 2, v1 * 2 + 2)).map((x) => t.vocabularies.tag![x]);
    expect(tags).toEqual(['39', '12']);
  });

  it('reads official log_standard files with is_click labels and refuses non-binary labels', async () => {
    const h = 'user_id,video_id,date,hourmin,time_ms,is_click,is_like,is_follow,is_comment,is_forward,is_hate,long_view,play_time_ms,duration_ms,profile_stay_time,comment_stay_time,is_profile_enter,is_rand,tab';
    const f1 = writeFixture(join(dir, 'krlog', 'log_standard_a.csv'), `${h}\n0,5,20220408,900,1649380000000,1,0,0,0,0,0,1,3000,6000,0,0,0,0,1\n`);
    const f2 = writeFixture(join(dir, 'krlog', 'log_standard_b.csv'), `${h}\n0,6,20220408,900,1649370000000,0,0,0,0,0,0,0,0,6000,0,0,0,0,1\n`);
    const t = await readKuaiRandLog({ logFiles: [f1, f2] });
    expect(t.numEvents).toBe(2);
    expect(Array.from(t.label)).toEqual([0, 1]);
    const bad = writeFixture(join(dir, 'krlog', 'log_bad.csv'), `${h}\n0,6,20220408,900,1649370000000,2,0,0,0,0,0,0,0,6000,0,0,0,0,1\n`);
    await expectError(readKuaiRandLog({ logFiles: [bad] }), 'BAD_VALUE', /log_bad\.csv:2 column "is_click"/);
  });
});

describe('readKuaiRec and readTmall', () => {
  it('KuaiRec: labels by watch ratio, counts rows without a timestamp, parses category lists', async () => {
    const m = writeFixture(
      join(dir, 'kuairec', 'small_matrix.csv'),
      'user_id,video_id,play_duration,video_duration,time,date,timestamp,watch_ratio\n14,148,4381,6067,2020-07-05 05:27:48.378,20200705.0,1593898068.378,0.722\n14,183,11635,6100,2020-07-05 05:28:00.057,20200705.0,1593898080.057,2.5\n14,3649,22422,10867,,,,2.06\n',
    );
    const c = writeFixture(join(dir, 'kuairec', 'item_categories.csv'), 'video_id,feat\n148,[11]\n183,"[27, 9]"\n');
    const t = await readKuaiRec({ matrixFile: m, categoriesFile: c });
    expect(t.numEvents).toBe(2);
    expect(t.report.droppedOther).toEqual({ missingTimestamp: 1 });
    expect(t.report.rowsRead).toBe(3);
    expect(Array.from(t.label)).toEqual([0, 1]);
    const it183 = t.item[1]!;
    expect(Array.from(t.itemContext.category!.subarray(it183 * 2, it183 * 2 + 2)).map((x) => t.vocabularies.category![x])).toEqual(['27', '9']);
  });

  it('Tmall: mmdd dates become Beijing-midnight seconds, empty brand is missing, same-day repeats kept', async () => {
    const f = writeFixture(
      join(dir, 'tmall', 'user_log_format1.csv.gz'),
      'user_id,item_id,cat_id,seller_id,brand_id,time_stamp,action_type\n1,10,3,4,,0829,0\n1,10,3,4,,0829,0\n1,11,3,4,7,0511,2\n',
    );
    const t = await readTmall({ logFile: f });
    expect(t.numEvents).toBe(3);
    expect(t.time[0]).toBe(Date.UTC(2015, 4, 11) / 1000 - 8 * 3600);
    expect(t.report.itemsMissingContext.brand_id).toBe(1);
    const bad = writeFixture(join(dir, 'tmall', 'bad.csv'), 'user_id,item_id,cat_id,seller_id,brand_id,time_stamp,action_type\n1,10,3,4,,1332,0\n');
    await expectError(readTmall({ logFile: bad }), 'BAD_VALUE', /bad\.csv:2 column "time_stamp": "1332"/);
  });
});
