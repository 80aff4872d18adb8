export { TwinScorer } from './twin-scorer.js';
export type { TwinScorerOptions, TwinUserState } from './twin-scorer.js';
export { EtaScorer } from './eta-scorer.js';
export type { EtaScorerOptions, EtaUserState } from './eta-scorer.js';
export { SdimScorer } from './sdim-scorer.js';
export type { SdimScorerOptions, SdimUserState } from './sdim-scorer.js';
export type { HostProjections, ScorerHistory, ScorerRequest } from './host-attention.js';
