// The single tfjs instance every @vql package uses. The union package registers all gradients
// (tfjs-core alone does not); importing the wasm backend registers it next to cpu.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export { tf };
export type { Tensor, Variable, Rank, NamedTensorMap } from '@tensorflow/tfjs';
