// Vitest hooks around the cluster harness, apart from it: the harness is also bundled
// into the benchmarks (bench/), which run outside vitest.
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { startCluster, type ClusterOptions, type TestCluster } from '../support/cluster-harness.js';

/**
 * One cluster for a test file: started before its tests (`use` receives it), every
 * node a test killed started again before the next test, and everything kill -9'd
 * after — where no sandbox may outlive its node.
 */
export function clusterPerFile(options: ClusterOptions, use: (cluster: TestCluster) => void): void {
  let cluster: TestCluster | undefined;
  beforeAll(async () => {
    cluster = await startCluster(options);
    use(cluster);
  }, 60_000);
  beforeEach(async () => {
    for (const node of cluster?.nodes ?? []) if (!node.alive) await cluster!.restart(node.name);
  });
  afterAll(async () => {
    expect(await cluster?.stop()).toEqual([]);
  });
}
