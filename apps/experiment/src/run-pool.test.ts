import { isVqlError } from '@vql/errors';
import { VqlDataError } from '@vql/data';
import { ExperimentConfigError } from './errors.js';
import { errorFromReply, replyError } from './run-pool.js';

describe('errors across the worker boundary', () => {
  it('a VqlError comes back as a VqlError with its source, code, name and message', () => {
    const back = errorFromReply(JSON.parse(JSON.stringify(replyError(new VqlDataError('FILE_NOT_FOUND', 'events.csv: not found')))));
    expect(isVqlError(back, 'FILE_NOT_FOUND')).toBe(true);
    expect([back.name, back.message, isVqlError(back) ? back.source : null]).toEqual(['VqlDataError', 'events.csv: not found', '@vql/data']);
    const config = errorFromReply(replyError(new ExperimentConfigError('NOT_A_MODEL', 'floor is a reference score')));
    expect(isVqlError(config) ? [config.source, config.code] : null).toEqual(['@vql/experiment', 'NOT_A_MODEL']);
  });

  it('any other error comes back as a plain Error with its name, message and code', () => {
    const back = errorFromReply(replyError(Object.assign(new RangeError('boom'), { code: 'ERR_X' })));
    expect(isVqlError(back)).toBe(false);
    expect([back.name, back.message, (back as Error & { code?: string }).code]).toEqual(['RangeError', 'boom', 'ERR_X']);
    expect(replyError(new Error('no code'))).not.toHaveProperty('code');
  });
});
