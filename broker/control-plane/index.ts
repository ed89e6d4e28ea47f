// The control plane's public face: the contract, both implementations, and the factory
// that picks one from the node's cluster configuration.
import { EtcdControlPlane } from './etcd.js';
import { MemoryControlPlane, type MemoryControlPlaneOptions } from './memory.js';
import type { ControlPlane } from './types.js';

export * from './types.js';
export { EtcdControlPlane, EtcdError, type EtcdControlPlaneOptions } from './etcd.js';
export { MemoryControlPlane, type MemoryControlPlaneOptions } from './memory.js';

export type ControlPlaneConfig = { kind: 'embedded' } | { kind: 'etcd'; endpoints: string[]; requestTimeoutMs?: number };

export function createControlPlane(config: ControlPlaneConfig, persist?: MemoryControlPlaneOptions['persist']): ControlPlane {
  switch (config.kind) {
    case 'embedded':
      return new MemoryControlPlane({ persist });
    case 'etcd':
      return new EtcdControlPlane({ endpoints: config.endpoints, requestTimeoutMs: config.requestTimeoutMs });
  }
}
