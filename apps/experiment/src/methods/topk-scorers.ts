import { EtaScorer, SdimScorer, TwinScorer } from '@vql/baselines/online';
import type { ScorerHistory, ScorerRequest } from '@vql/baselines/online';
import type { Eta, Sdim, Twin } from '@vql/baselines/topk';
import type { UserHistory } from '@vql/cache-store';
import type { CtrModel } from '@vql/model';
import { embedInChunks } from './embed-history.js';
import type { OnlineScorer, OnlineScorerFactory } from './method-entry.js';

/** What every typed-array scorer of @vql/baselines/online offers. */
interface BaselineScorer<State> {
  buildState(history: ScorerHistory): State;
  score(state: State, request: ScorerRequest): unknown;
  stateBytesPerUser(L: number): number;
}

/**
 * A baseline's online scorer for one user: fused rows for the attention, item rows for ETA /
 * SDIM's hash, times for the temporal kernel.
 */
function baselineScorer<State>(scorer: BaselineScorer<State>, model: CtrModel, h: UserHistory, now: number): OnlineScorer {
  const userHistory = { embeddings: embedInChunks(model, h.items), itemEmbeddings: embedInChunks(model, h.items, 'item'), times: h.times };
  const targets = (items: Int32Array): ScorerRequest => {
    const { fused, item } = model.embedTargets(items, {});
    return { embeddings: fused, itemEmbeddings: item, time: now };
  };
  const state = scorer.buildState(userHistory);
  return { stateBytes: scorer.stateBytesPerUser(h.items.length), request: (items) => scorer.score(state, targets(items)), dispose: () => {} };
}

export const twinScorer: OnlineScorerFactory = (model, h, now) => baselineScorer(TwinScorer.fromModule(model.interest as Twin), model, h, now);
export const etaScorer: OnlineScorerFactory = (model, h, now) => baselineScorer(EtaScorer.fromModule(model.interest as Eta), model, h, now);
export const sdimScorer: OnlineScorerFactory = (model, h, now) => baselineScorer(SdimScorer.fromModule(model.interest as Sdim), model, h, now);
