import '../register.js'; // importing the subpath registers every baseline kind
export { SimHard } from './sim-hard.js';
export type { SimHardOptions } from './sim-hard.js';
export { SimSoft } from './sim-soft.js';
export type { SimSoftOptions } from './sim-soft.js';
export { Eta, ETA_MAX_BITS } from './eta.js';
export type { EtaOptions } from './eta.js';
export { Twin } from './twin.js';
export type { TwinOptions } from './twin.js';
export { Sdim, SDIM_MAX_BITS_PER_ROUND, SDIM_MAX_ROUNDS } from './sdim.js';
export type { SdimOptions, SdimNormalize } from './sdim.js';
export { LastN } from './last-n.js';
export type { LastNOptions } from './last-n.js';
export { TopKModule, DEFAULT_K } from './topk-base.js';
