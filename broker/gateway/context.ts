// What a client connection needs from its node, as one explicit object.
import type { Catalog } from '../catalog.js';
import type { NodeConfig } from '../config/schema.js';
import type { SignInLimiter } from '../auth/rate-limit.js';
import type { TokenService } from '../auth/tokens.js';
import type { Logger } from '../log.js';
import type { NodeMetrics } from '../metrics.js';
import type { SessionRegistry } from '../session-registry.js';

export interface NodeContext {
  config: NodeConfig;
  catalog: Catalog;
  tokens: TokenService;
  /** Per user name, tight; per client address, looser (offices share addresses behind NAT). */
  limits: { byUser: SignInLimiter; byAddress: SignInLimiter };
  sessions: SessionRegistry;
  log: Logger;
  metrics: NodeMetrics;
  verifyUser(name: string, password: string): Promise<boolean>;
}
