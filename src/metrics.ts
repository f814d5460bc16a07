/**
 * Prometheus metrics (GET /metrics). The layers keep plain counters in their
 * `stats` objects; this module only exposes them, read at scrape time.
 */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

type Source = () => number;

export function createMetrics(sources: Record<string, { help: string; read: Source }>, nodeId: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node: nodeId });
  collectDefaultMetrics({ register: registry, prefix: 'parley_' });
  for (const [name, s] of Object.entries(sources)) {
    // Counters read from monotonic stats are exposed as gauges of their current total (names end in _total).
    new Gauge({ name, help: s.help, registers: [registry], collect() { this.set(s.read()); } });
  }
  return registry;
}
