// What a client connection needs from its node, as one explicit object.
import type { Catalog } from '../catalog.js';
import type { NodeConfig } from '../config/schema.js';
import type { SignInLimiter } from '../auth/rate-limit.js';
import type { TokenService } from '../auth/tokens.js';
import type { Logger } from '../log.js';
import type { AuditLog } from '../audit.js';
import type { Revocations } from '../auth/revocations.js';
import type { SecondFactors } from '../auth/second-factor.js';
import type { SignInCodes } from '../auth/sign-in-codes.js';
import type { NodeMetrics } from '../metrics.js';
import type { SessionRegistry } from '../registry/session-registry.js';
import type { Trust } from '../tls/trust.js';

export interface NodeContext {
  config: NodeConfig;
  catalog: Catalog;
  tokens: TokenService;
  /** Whom this node trusts on its TLS links to other nodes (tunnels, forwarded admin calls). */
  trust: Trust;
  /**
   * Sign-in limiters. byPair (name and address): tight, with a lockout — an attacker
   * locks a name only from their own address. byAddress: looser (offices share an
   * address behind NAT). byUser (name alone): loosest, slows a name tried from many places.
   */
  limits: { byPair: SignInLimiter; byAddress: SignInLimiter; byUser: SignInLimiter };
  audit: AuditLog;
  /** Revoked tokens, cluster-wide (available once the node has joined its cluster). */
  revocations: Revocations;
  /** People's second factors (TOTP), cluster-wide. */
  secondFactors: SecondFactors;
  /** One-time codes left by identity-provider sign-ins, cluster-wide. */
  signInCodes: SignInCodes;
  /** The client connections this node serves (a revoked user's are closed). */
  connections: Set<{ user: string | null; revoked(): void }>;
  sessions: SessionRegistry;
  log: Logger;
  metrics: NodeMetrics;
  verifyUser(name: string, password: string): Promise<boolean>;
}
