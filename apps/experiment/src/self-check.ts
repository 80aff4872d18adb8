import { initBackend } from '@vql/runtime';
import type { BackendName } from '@vql/runtime';
import { tinyModelLossCurve } from '@vql/runtime/testing';
import { auc, gauc, logLoss, latencySummary } from '@vql/metrics';

export interface SelfCheckResult {
  ok: boolean;
  lines: string[];
}

/**
 * Checks that this machine can train vql models: both backends initialise, an embedding + MLP
 * model trains on each with the same loss curve, and the metrics agree with known values.
 */
export async function selfCheck(steps = 40): Promise<SelfCheckResult> {
  const lines: string[] = [];
  const curves: Partial<Record<BackendName, number[]>> = {};
  for (const backend of ['cpu', 'wasm'] as const) {
    const info = await initBackend({ backend });
    const start = performance.now();
    curves[backend] = tinyModelLossCurve({ seed: 1, steps });
    const ms = performance.now() - start;
    const c = curves[backend]!;
    lines.push(
      `${backend.padEnd(4)}  loss ${c[0]!.toFixed(4)} → ${c[c.length - 1]!.toFixed(4)} in ${steps} Adam steps ` +
        `(${ms.toFixed(0)} ms)${info.bridgedKernels.length > 0 && backend === 'wasm' ? `; bridged kernels: ${info.bridgedKernels.join(', ')}` : ''}`,
    );
  }
  const maxDiff = Math.max(...curves.cpu!.map((v, i) => Math.abs(v - curves.wasm![i]!)));
  const trains = curves.wasm![steps - 1]! < curves.wasm![0]! * 0.7;
  lines.push(`max |loss(wasm) − loss(cpu)| over the curve: ${maxDiff.toExponential(2)} (must be < 1e-4)`);

  const metricsOk =
    Math.abs(auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) - 0.75) < 1e-12 &&
    Math.abs(gauc([1, 1, 2, 2], [0, 1, 1, 0], [0.1, 0.9, 0.2, 0.8]) - 0.5) < 1e-12 &&
    Math.abs(logLoss([1, 0], [0.9, 0.1]) + Math.log(0.9)) < 1e-12 &&
    latencySummary([1, 2, 3, 4, 5]).p50 === 3;
  lines.push(`metrics against hand-computed values: ${metricsOk ? 'ok' : 'MISMATCH'}`);
  return { ok: maxDiff < 1e-4 && trains && metricsOk, lines };
}
