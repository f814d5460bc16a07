/**
 * Prometheus metrics (GET /metrics). The layers keep plain counters in their
 * `stats` objects; this module only exposes them, read at scrape time.
 */
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

type Source = () => number;

export interface Metrics {
  registry: Registry;
  /** Milliseconds from a send's arrival to its pushes leaving this node. */
  observeDelivery(ms: number): void;
}

export function createMetrics(
  sources: Record<string, { help: string; read: Source }>,
  labelled: Record<string, { help: string; label: string; read: () => Record<string, number> }>,
  nodeId: string,
): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ node: nodeId });
  collectDefaultMetrics({ register: registry, prefix: 'parley_' });
  for (const [name, s] of Object.entries(sources)) {
    // Counters read from monotonic stats are exposed as gauges of their current total (names end in _total).
    new Gauge({ name, help: s.help, registers: [registry], collect() { this.set(s.read()); } });
  }
  for (const [name, s] of Object.entries(labelled)) {
    new Gauge({
      name, help: s.help, labelNames: [s.label], registers: [registry],
      collect() {
        for (const [value, n] of Object.entries(s.read())) this.set({ [s.label]: value }, n);
      },
    });
  }
  const delivery = new Histogram({
    name: 'parley_delivery_seconds',
    help: 'From a send reaching the service to its pushes being written (commit and fan-out)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return { registry, observeDelivery: (ms) => delivery.observe(ms / 1000) };
}
