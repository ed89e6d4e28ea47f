// A node's replica-set history as an operator reads it: which apps' standbys diverge,
// in how many sessions, and how many of those now run without a standby.
import { describe, expect, it } from 'vitest';
import type { AuditLog } from '../audit.js';
import { formatDivergingApps } from '../cli/status.js';
import { NodeMetrics } from '../metrics.js';
import { ClusterHistory } from './cluster-history.js';

const history = () =>
  new ClusterHistory('node-1', new NodeMetrics('node-1', 'test', { sessions: () => [], accepting: () => true, draining: () => false }), { record: () => {} } as unknown as AuditLog);

describe('divergences by app', () => {
  it('counts each app’s divergences and sessions, and the sessions left without a standby', () => {
    const h = history();
    for (let i = 0; i < 3; i++) h.note('divergence', 's1', 'top', `node-2: its screen differs from the primary’s (${i})`);
    h.note('divergence', 's2', 'top', 'node-3: its screen differs from the primary’s');
    h.note('divergence', 's3', 'node', 'node-2: its files differ from the primary’s');
    h.note('failover', 's4', 'python', 'node-2 took over');
    const apps = h.appDivergences();
    expect(apps.map((a) => [a.app, a.divergences, a.sessions, a.unprotected])).toEqual([
      ['top', 4, 2, 1],
      ['node', 1, 1, 0],
    ]);
    expect(apps[0]!.lastDetail).toBe('node-3: its screen differs from the primary’s');
  });

  it('is shown by holdfast status with the catalog change to make', () => {
    const text = formatDivergingApps([
      { app: 'top', failover: 'lockstep', divergences: 4, sessions: 2, unprotected: 1, lastDetail: 'node-3: its screen differs from the primary’s', lastAt: 0 },
      { app: 'htop', failover: 'restart', divergences: 1, sessions: 1, unprotected: 0, lastDetail: 'node-2: its screen differs from the primary’s', lastAt: 0 },
    ]);
    expect(text).toMatch(/^APP +FAILOVER +DIVERGENCES +SESSIONS +UNPROTECTED +LAST$/m);
    expect(text).toMatch(/^top +lockstep +4 +2 +1 +node-3: its screen differs/m);
    expect(text).toContain('top: its replicas do not stay in step; set "failover: restart" for it in the catalog');
    expect(text).not.toContain('htop: its replicas'); // already restarts
    expect(formatDivergingApps([])).toBe('');
  });
});
