import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * Metrics that belong to the process, not to one app instance: Node's own (event-loop delay,
 * heap, GC, RSS) and the business counters, which services bump without holding the app. Each
 * app's /metrics merges this registry with its own (HTTP, pool, jobs, sockets).
 */
export const processRegistry = new Registry();

// once per process: each call adds its own event-loop monitor and GC observer
collectDefaultMetrics({ register: processRegistry, prefix: 'buurtwag_' });
