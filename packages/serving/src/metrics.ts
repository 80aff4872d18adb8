import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The service's Prometheus metrics, on a registry of its own (several services may share a process in tests). */
export class ServingMetrics {
  readonly registry = new Registry();
  readonly requestSeconds = new Histogram({
    name: 'vql_http_request_duration_seconds',
    help: 'HTTP request latency by route and status code.',
    labelNames: ['route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly scoreSeconds = new Histogram({
    name: 'vql_score_duration_seconds',
    help: 'Time to score one user (cache read + cached attention + tower).',
    buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05],
    registers: [this.registry],
  });
  readonly cacheLookups = new Counter({ name: 'vql_cache_lookups_total', help: 'Cache reads by result (hit, miss = scored as an empty history).', labelNames: ['result'] as const, registers: [this.registry] });
  readonly storeErrors = new Counter({ name: 'vql_store_errors_total', help: 'Cache store failures by operation and error code.', labelNames: ['op', 'code'] as const, registers: [this.registry] });
  readonly corruptCaches = new Counter({ name: 'vql_corrupt_cache_total', help: 'Reads of a damaged cache blob (the user must be rebuilt).', registers: [this.registry] });
  readonly eventsAppended = new Counter({ name: 'vql_events_appended_total', help: 'Behaviour events added to caches.', labelNames: ['source'] as const, registers: [this.registry] });
  readonly eventsDuplicate = new Counter({ name: 'vql_events_duplicate_total', help: 'Events skipped because their id was already applied (redeliveries, retries).', labelNames: ['source'] as const, registers: [this.registry] });
  readonly eventsDeadLettered = new Counter({ name: 'vql_events_dead_lettered_total', help: 'Stream entries refused as bad data and moved to the dead-letter stream.', registers: [this.registry] });
  readonly modelInfo = new Gauge({ name: 'vql_model_info', help: 'The model version being served (value 1).', labelNames: ['version'] as const, registers: [this.registry] });
  readonly modelFlips = new Counter({ name: 'vql_model_flips_total', help: 'Switches to a new model version after its caches were complete.', registers: [this.registry] });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }
}
