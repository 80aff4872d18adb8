import { assignDenseIds, dropBadTimes, dropDuplicates, dropShortUsers, gatherEvents, groupByUser, sortWithinUsers } from './cleaning-steps.js';
import type { RawRows } from './cleaning-steps.js';
import { VqlDataError } from './errors.js';

/** Rows of (user, item, time, label[, event value]) in file order; provisional ids as given. */
function rowsOf(table: Array<[number, number, number, number, number?]>, numUsers: number): RawRows {
  return {
    user: Int32Array.from(table, (r) => r[0]),
    item: Int32Array.from(table, (r) => r[1]),
    time: Float64Array.from(table, (r) => r[2]),
    label: Float32Array.from(table, (r) => r[3]),
    eventValues: [{ width: 1, values: Float32Array.from(table, (r) => r[4] ?? 0) }],
    numUsers,
  };
}

const never = (): VqlDataError => {
  throw new Error('no duplicate expected');
};

describe('cleaning steps, each on its own', () => {
  it('dropBadTimes counts rows before minTime, after maxTime and outside the window, in that precedence', () => {
    const rows = rowsOf([[1, 1, -5, 1], [1, 1, 50, 1], [1, 1, 500, 1], [2, 1, 5, 1], [2, 1, 99, 1], [2, 1, 100, 1]], 2);
    const keep = new Uint8Array(6).fill(1);
    expect(dropBadTimes(rows, { minTime: 0, maxTime: 200, timeWindow: [10, 100] }, keep)).toEqual({ droppedNegativeTime: 1, droppedFutureTime: 1, droppedOutOfWindow: 2 });
    expect(Array.from(keep)).toEqual([0, 1, 0, 0, 1, 0]);
    const all = new Uint8Array(6).fill(1);
    expect(dropBadTimes(rows, { minTime: -10, maxTime: 1e3, timeWindow: null }, all)).toEqual({ droppedNegativeTime: 0, droppedFutureTime: 0, droppedOutOfWindow: 0 });
    expect(Array.from(all)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('groupByUser puts each user\'s kept rows together in file order; sortWithinUsers sorts them stably by time', () => {
    const rows = rowsOf([[2, 1, 30, 1], [1, 1, 20, 1], [2, 2, 10, 1], [1, 2, 20, 1], [2, 3, 10, 1], [1, 3, 5, 1]], 2);
    const keep = Uint8Array.of(1, 1, 1, 1, 1, 0);
    const groups = groupByUser(rows, keep);
    expect(Array.from(groups.start)).toEqual([0, 0, 2, 5]);
    expect(Array.from(groups.order)).toEqual([1, 3, 0, 2, 4]);
    sortWithinUsers(rows, groups);
    expect(Array.from(groups.order)).toEqual([1, 3, 2, 4, 0]); // user 2: rows 2 and 4 tie at t = 10, file order kept
  });

  it('dropDuplicates drops (and counts) a row equal to an earlier one at the same time, keeps them, or names them', () => {
    // User 1: rows 0 and 1 equal; row 2 differs in its event value; row 3 is at another time.
    const rows = rowsOf([[1, 7, 10, 1, 0.5], [1, 7, 10, 1, 0.5], [1, 7, 10, 1, 0.25], [1, 7, 11, 1, 0.5], [2, 7, 10, 1, 0.5]], 2);
    const run = (mode: 'drop' | 'keep' | 'error') => {
      const keep = new Uint8Array(5).fill(1);
      const groups = groupByUser(rows, keep);
      sortWithinUsers(rows, groups);
      return { ...dropDuplicates(rows, groups, keep, mode, (row, earlier) => new VqlDataError('DUPLICATE_EVENT', `row ${row} repeats row ${earlier}`)), keep: Array.from(keep) };
    };
    const dropped = run('drop');
    expect([dropped.droppedDuplicates, Array.from(dropped.keptPerUser), dropped.keep]).toEqual([1, [0, 3, 1], [1, 0, 1, 1, 1]]);
    const kept = run('keep');
    expect([kept.droppedDuplicates, Array.from(kept.keptPerUser)]).toEqual([0, [0, 4, 1]]);
    expect(() => run('error')).toThrow('row 1 repeats row 0');
  });

  it('dropDuplicates finds duplicates in long runs of equal times too (the key-map path)', () => {
    const table: Array<[number, number, number, number]> = Array.from({ length: 40 }, (_, i) => [1, 1 + i, 86_400, 1]);
    table.push([1, 3, 86_400, 1], [1, 39, 86_400, 0]); // a repeat of item 3; item 39 with another label is not one
    const rows = rowsOf(table, 1);
    const keep = new Uint8Array(table.length).fill(1);
    const groups = groupByUser(rows, keep);
    const out = dropDuplicates(rows, groups, keep, 'drop', never);
    expect([out.droppedDuplicates, out.keptPerUser[1], keep[40], keep[41]]).toEqual([1, 41, 0, 1]);
  });

  it('dropShortUsers drops users with some but too few events and counts them and their events', () => {
    const keptPerUser = Int32Array.of(0, 1, 3, 0, 2);
    const out = dropShortUsers(keptPerUser, 3);
    expect([out.droppedUsers, out.droppedShortUserEvents, Array.from(out.shortDropped), Array.from(keptPerUser)]).toEqual([2, 3, [0, 1, 0, 0, 1], [0, 0, 3, 0, 0]]);
    expect(dropShortUsers(Int32Array.of(0, 1, 2), 1)).toMatchObject({ droppedUsers: 0, droppedShortUserEvents: 0 });
  });

  it('assignDenseIds numbers survivors by first appearance, counts emptied users, keeps declared items; gatherEvents writes the table order', () => {
    // Users 1..3: user 1 loses its only row to time cleaning, user 2 keeps two, user 3 keeps one; item 4 is declared only.
    const rows = rowsOf([[1, 1, 5, 1], [2, 3, 30, 0], [3, 2, 10, 1], [2, 2, 20, 1]], 3);
    const keep = Uint8Array.of(0, 1, 1, 1);
    const groups = groupByUser(rows, keep);
    sortWithinUsers(rows, groups);
    const keptPerUser = Int32Array.of(0, 0, 2, 1);
    const ids = assignDenseIds(rows, groups, keep, keptPerUser, new Uint8Array(4), 4, [4]);
    expect([ids.numUsers, ids.numItems, ids.droppedUsers]).toEqual([2, 3, 1]);
    expect([Array.from(ids.userFinal), Array.from(ids.itemFinal), Array.from(ids.userOffsets)]).toEqual([[0, 0, 1, 2], [0, 0, 1, 2, 3], [0, 0, 2, 3]]);
    const events = gatherEvents(rows, groups, keep, ids);
    expect(events.eventsKept).toBe(3);
    expect([Array.from(events.user), Array.from(events.item), Array.from(events.time), Array.from(events.label), Array.from(events.source)]).toEqual([
      [1, 1, 2],
      [1, 2, 1],
      [20, 30, 10],
      [1, 0, 1],
      [3, 1, 2],
    ]);
    // A user dropped as short is not counted again as emptied.
    const again = assignDenseIds(rows, groups, keep, Int32Array.of(0, 0, 0, 1), Uint8Array.of(0, 0, 1, 0), 4, []);
    expect([again.numUsers, again.droppedUsers]).toEqual([1, 1]);
  });
});
