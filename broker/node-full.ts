// The one launch refusal people should see as a limit, not a failure: this node already
// runs node.limits.sessionsPerNode primaries. Thrown by the session registry, recognised
// (instanceof) by the gateway, which answers limitReached with its message.

/** The node runs node.limits.sessionsPerNode primaries already. */
export class NodeFullError extends Error {}
