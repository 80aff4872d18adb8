import { initBackend } from './backend.js';

// Its own file: jest gives each file a fresh tfjs, so this is the wasm module's first start.
describe('initBackend on wasm', () => {
  it('leaves no uncaughtException / unhandledRejection handler from the emscripten glue behind', async () => {
    delete process.env['VQL_BACKEND'];
    const before = [process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')];
    await initBackend({ backend: 'wasm' });
    expect([process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')]).toEqual(before);
  });
});
