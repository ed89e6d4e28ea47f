// Which limits a session lives under: how long it waits for a client that left, how
// long it may sit idle, how long it may run, and how early the person is warned. They
// are settled once, when the session is launched, from the node's sessionPolicies, and
// travel with the session (its record, its replicas): a failover or a config reload
// changes no running session's deadlines.
import type { NodeConfig } from '../config/schema.js';
import { matches, type PolicyPerson } from '../config/policy-match.js';

export interface SessionLimits {
  /** How long the session waits for a client after its connection is lost. */
  holdSeconds: number;
  /** Ends after this long attached with no input from the person; null: never. */
  idleSeconds: number | null;
  /** Ends this long after it started; null: no limit. */
  maxSeconds: number | null;
  /** Warn this long before an idle or maximum-length end (at most half the limit: see warnSecondsFor). */
  warnSeconds: number;
}

/** The schema's default warnMinutes, for sessions no policy covers. */
const DEFAULT_WARN_SECONDS = 5 * 60;

/**
 * The limits of `appId` launched for `person`. The first matching policy decides, as a
 * whole: reading the list from the top tells an operator what a session gets, and an
 * exception (a group that may stay longer) goes above the rule it excepts. Fields that
 * policy leaves out take the defaults — the node's sessionHoldSeconds, no idle
 * timeout, no maximum — never a later policy's value.
 */
export function limitsFor(config: Pick<NodeConfig, 'node' | 'sessionPolicies'>, appId: string, person: PolicyPerson): SessionLimits {
  const policy = config.sessionPolicies.find((p) => matches(p, appId, person));
  const seconds = (minutes: number | undefined) => (minutes ? Math.round(minutes * 60) || null : null);
  return {
    holdSeconds: policy?.disconnectedMinutes !== undefined ? Math.round(policy.disconnectedMinutes * 60) : config.node.sessionHoldSeconds,
    idleSeconds: seconds(policy?.idleMinutes),
    maxSeconds: seconds(policy?.maxMinutes),
    warnSeconds: policy ? Math.round(policy.warnMinutes * 60) : DEFAULT_WARN_SECONDS,
  };
}

/** How long before an end of this limit the warning starts: warnSeconds, but never more than half the limit (else it would stand from the start). */
export function warnSecondsFor(limits: Pick<SessionLimits, 'warnSeconds'>, limitSeconds: number): number {
  return Math.min(limits.warnSeconds, limitSeconds / 2);
}

/** Whether a session of `appId` launched for `person` is recorded: its first matching policy says (none: not recorded). */
export function recordingFor(config: Pick<NodeConfig, 'sessionPolicies'>, appId: string, person: PolicyPerson): boolean {
  return config.sessionPolicies.find((p) => matches(p, appId, person))?.recording === 'on';
}
