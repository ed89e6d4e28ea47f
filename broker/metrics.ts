// What a node tells Prometheus, at GET /metrics: one registry per node (tests run
// several nodes in one process). Counters are incremented where things happen; gauges
// about sessions and replicas are computed when scraped, from the registry itself, so
// they cannot drift from what the node does.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * How often the event-loop lag histogram samples. prom-client's default (10 ms) is a
 * timer that wakes an idle node 100 times a second — about 200 polls a second, each
 * a context switch, on a machine that should sleep; and on a busy one a wake-up that
 * competes with keystrokes and display updates. Ten samples a second still show lag.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

/** What the scrape-time gauges read. */
export interface MetricsSource {
  sessions(): Iterable<{ session: { readonly role: 'primary' | 'standby'; readonly endMessage: string | null; readonly attached: boolean }; lagByStandby: Map<string, number> | null }>;
  accepting(): boolean;
  draining(): boolean;
}

export class NodeMetrics {
  readonly registry = new Registry();
  readonly failovers = new Counter({ name: 'holdfast_failovers_total', help: 'Standbys promoted to primary here (and apps restarted here) after their primary died.', registers: [this.registry] });
  readonly handovers = new Counter({ name: 'holdfast_handovers_total', help: 'Primaries moved on purpose (drain or move), by their role in it.', labelNames: ['role'] as const, registers: [this.registry] });
  readonly divergences = new Counter({ name: 'holdfast_divergences_total', help: 'Standbys whose screen differed from the primary at the same log index.', registers: [this.registry] });
  readonly replenished = new Counter({ name: 'holdfast_standbys_joined_total', help: 'New standbys that caught up and joined a replica set.', registers: [this.registry] });
  readonly signIns = new Counter({ name: 'holdfast_sign_ins_total', help: 'Sign-in attempts by result.', labelNames: ['result'] as const, registers: [this.registry] });
  readonly launches = new Counter({ name: 'holdfast_launches_total', help: 'Sessions launched with this node as primary, by result.', labelNames: ['result'] as const, registers: [this.registry] });
  readonly echo = new Histogram({
    name: 'holdfast_echo_seconds',
    help: 'From an input frame reaching the primary to the next output frame leaving for the client (keystroke echo as the server sees it).',
    labelNames: ['display'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly streamBytes = new Histogram({
    name: 'holdfast_stream_frame_bytes',
    help: 'Size of each stream frame sent to clients (output, or RFB updates).',
    labelNames: ['display'] as const,
    buckets: [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576],
    registers: [this.registry],
  });
  readonly controlPlane = new Histogram({
    name: 'holdfast_control_plane_seconds',
    help: 'Control-plane calls by operation (etcd, or the embedded store), including failures.',
    labelNames: ['op'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly controlPlaneErrors = new Counter({ name: 'holdfast_control_plane_errors_total', help: 'Control-plane calls that failed, by operation.', labelNames: ['op'] as const, registers: [this.registry] });
  readonly sandboxLaunch = new Histogram({
    name: 'holdfast_sandbox_launch_seconds',
    help: 'From starting an app’s sandbox to the app taking input (started and settled), by display.',
    labelNames: ['display'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8],
    registers: [this.registry],
  });
  readonly configReloads = new Counter({ name: 'holdfast_config_reloads_total', help: 'Config reloads (SIGHUP) by result.', labelNames: ['result'] as const, registers: [this.registry] });

  private readonly certificateNotAfter = new Gauge({
    name: 'holdfast_tls_certificate_expiry_timestamp_seconds',
    help: 'When the TLS certificate this node serves expires (Unix time); absent without node.tls.',
    registers: [this.registry],
  });

  certificateExpiry(notAfter: Date): void {
    this.certificateNotAfter.set(Math.floor(notAfter.getTime() / 1000));
  }

  constructor(node: string, version: string, source: MetricsSource) {
    this.registry.setDefaultLabels({ node });
    collectDefaultMetrics({ register: this.registry, prefix: 'holdfast_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    new Gauge({ name: 'holdfast_node_info', help: 'Always 1; the labels say which version this node runs.', labelNames: ['version'] as const, registers: [this.registry] }).set({ version }, 1);
    new Gauge({
      name: 'holdfast_node_accepting',
      help: '1 while this node takes new sessions (holds its lease and is not draining).',
      registers: [this.registry],
      collect() {
        this.set(source.accepting() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'holdfast_node_draining',
      help: '1 while this node is being drained.',
      registers: [this.registry],
      collect() {
        this.set(source.draining() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'holdfast_sessions',
      help: 'Sessions whose primary runs here, by state: attached (a client streams it) or held (waiting for its client).',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const counts = { attached: 0, held: 0 };
        for (const { session } of source.sessions()) if (session.role === 'primary' && session.endMessage === null) counts[session.attached ? 'attached' : 'held'] += 1;
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'holdfast_replicas',
      help: 'Replicas hosted here, by role.',
      labelNames: ['role'] as const,
      registers: [this.registry],
      collect() {
        const counts = { primary: 0, standby: 0 };
        for (const { session } of source.sessions()) counts[session.role] += 1;
        for (const [role, n] of Object.entries(counts)) this.set({ role }, n);
      },
    });
    new Gauge({
      name: 'holdfast_replica_lag_entries',
      help: 'For primaries here: log entries the furthest-behind standby on each node does not hold yet (0: in step).',
      labelNames: ['standby'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        const worst = new Map<string, number>();
        for (const { lagByStandby } of source.sessions()) {
          for (const [standby, lag] of lagByStandby ?? []) worst.set(standby, Math.max(worst.get(standby) ?? 0, lag));
        }
        for (const [standby, lag] of worst) this.set({ standby }, lag);
      },
    });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
