import { tf } from './tf.js';
import { VqlRuntimeError } from './errors.js';
import { registerCpuFallbackKernels } from './kernels/cpu-fallback.js';

export const BACKENDS = ['wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface InitBackendOptions {
  /** Backend to use; `VQL_BACKEND` in the environment overrides it. Default `wasm`. */
  backend?: BackendName;
  /** Print the chosen backend and tfjs's own notices. Default false: nothing is printed. */
  verbose?: boolean;
}

export interface BackendInfo {
  backend: BackendName;
  /** Kernels that wasm lacks and that run through the cpu implementation. */
  bridgedKernels: readonly string[];
}

export function isBackendName(name: string): name is BackendName {
  return (BACKENDS as readonly string[]).includes(name);
}

/**
 * Selects and initialises the tfjs backend. Safe to call repeatedly (switches backend when
 * asked for another one). Throws `VqlRuntimeError` for an unknown name, naming where it came from.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const fromEnv = process.env['VQL_BACKEND'];
  let requested: string = options.backend ?? 'wasm';
  let source = 'options.backend';
  if (fromEnv !== undefined && fromEnv !== '') {
    requested = fromEnv;
    source = 'environment variable VQL_BACKEND';
  }
  if (!isBackendName(requested)) {
    throw new VqlRuntimeError(
      'UNKNOWN_BACKEND',
      `Unknown backend "${requested}" in ${source}; expected one of: ${BACKENDS.join(', ')}.`,
    );
  }
  // tfjs prints a "use tfjs-node" banner and other notices unless in PROD mode.
  tf.env().set('PROD', options.verbose !== true);
  const bridgedKernels = registerCpuFallbackKernels();
  if (tf.getBackend() !== requested) {
    // Emscripten's Node glue (wasm backend) installs process-wide handlers that rethrow every
    // uncaught error from inside its minified source, so Node prints ~30 kB of it. Remove them.
    const before = {
      uncaughtException: process.listeners('uncaughtException'),
      unhandledRejection: process.listeners('unhandledRejection'),
    };
    const ok = await tf.setBackend(requested);
    for (const listener of process.listeners('uncaughtException')) {
      if (!before.uncaughtException.includes(listener)) process.removeListener('uncaughtException', listener);
    }
    for (const listener of process.listeners('unhandledRejection')) {
      if (!before.unhandledRejection.includes(listener)) process.removeListener('unhandledRejection', listener);
    }
    if (!ok) {
      throw new VqlRuntimeError('BACKEND_INIT_FAILED', `The tfjs "${requested}" backend failed to initialise.`);
    }
  }
  await tf.ready();
  if (options.verbose === true) {
    console.warn(`[vql] tfjs backend: ${requested} (bridged to cpu: ${bridgedKernels.join(', ') || 'none'})`);
  }
  return { backend: requested, bridgedKernels };
}
