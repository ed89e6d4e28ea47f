// The node configuration file's shape. Everything a node does at run time is derived
// from a value that passed this schema; nothing reads the YAML directly.
import { z } from 'zod';
import { checkReferences } from './references.js';
import { TransferPolicy } from './transfer-policy.js';

const ident = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'an id of lowercase letters, digits, "-" or "_", starting with a letter');

export const SandboxProfile = z
  .object({
    /** Give the app a network namespace shared with the host (off: loopback only, and down). */
    network: z.boolean().default(false),
    /** Extra host paths bound read-only into the sandbox. */
    readOnlyPaths: z.array(z.string().startsWith('/')).default([]),
    /**
     * Memory of the whole session in MiB (every process in it): a cgroup limit where the
     * node has cgroups, at which the kernel stops the biggest process; else RLIMIT_AS per process.
     */
    maxMemoryMiB: z.number().int().min(16, 'at least 16 MiB: less and no app starts').default(2048),
    /** Processes and threads of the session together (cgroup pids.max): a fork bomb stops here. */
    maxProcesses: z.number().int().min(16, 'at least 16: the sandbox itself needs a few').max(1_000_000).default(512),
    /**
     * Terminals (PTYs) the session's apps may open (a shell's `script`, an XTerm, tmux):
     * each sandbox has its own devpts instance with this cap, so one session cannot take
     * the host's (kernel.pty.max) from every other.
     */
    maxTerminals: z.number().int().min(1, 'at least 1: an XTerm needs one').max(65_536).default(64),
    /** CPU time of the session as a percentage of one core (200: two cores' worth). */
    maxCpuPercent: z.number().int().min(5, 'at least 5 (% of one core)').max(100_000).default(100),
    /**
     * The session's home folder, in MiB: a volume of its own (host/home-volume.ts), its
     * space taken from the host's disk when the session starts. Writes past it fail with
     * "No space left on device"; `df ~` shows it.
     */
    maxHomeMiB: z.number().int().min(16, 'at least 16 MiB').max(1_048_576, 'at most 1 TiB').default(1024),
    /** Files, directories and links the home may hold (its inodes; ext4 rounds up a little). Each takes 256 bytes of maxHomeMiB. */
    maxHomeFiles: z.number().int().min(256, 'at least 256').max(268_435_456).default(100_000),
  })
  .strict()
  .refine((p) => p.maxHomeFiles <= p.maxHomeMiB * 256, { path: ['maxHomeFiles'], message: 'at most 256 per MiB of maxHomeMiB (ext4 keeps 256 bytes per file; at most a quarter of the home)' });
export type SandboxProfile = z.infer<typeof SandboxProfile>;

export const AppConfig = z
  .object({
    id: ident,
    name: z.string().min(1).max(128),
    description: z.string().max(1024).default(''),
    icon: z.string().max(64).default('terminal'),
    /** terminal: a PTY streamed to xterm.js. rfb: an X11 app on its own Xvnc display, streamed to noVNC. */
    display: z.enum(['terminal', 'rfb']).default('terminal'),
    /** rfb: the display's starting size (the viewer may resize it); WIDTHxHEIGHT. */
    geometry: z
      .string()
      .regex(/^\d{2,4}x\d{2,4}$/, 'a size such as 1280x800')
      .refine((g) => g.split('x').every((n) => Number(n) >= 64 && Number(n) <= 8192), 'each side from 64 to 8192 pixels')
      .default('1280x800'),
    /** rfb: colour depth of the display. */
    depth: z.union([z.literal(16), z.literal(24)]).default(24),
    /** rfb: run a window manager (matchbox) that makes the app fill the display and follow its size. */
    windowManager: z.boolean().default(true),
    /**
     * Give the app a sound server of its own (PulseAudio with a null sink, in its sandbox):
     * what it plays is captured by the node, encoded as Opus and sent to the person's
     * client (docs/protocol.md#sound). Off by default while sound is being built (issue 25).
     */
    sound: z.boolean().default(false),
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.string()).default({}),
    sandbox: ident.default('default'),
    /** How many hosts run the app in lockstep (primary + standbys). Default: 2 in a cluster, 1 on one node. */
    replicas: z.number().int().min(1).max(5).optional(),
    /**
     * What happens when the app's host dies. lockstep: a standby that ran every input
     * takes over with the app as it was. restart: a fresh instance starts elsewhere, with
     * the same files. none: the session ends.
     */
    failover: z.enum(['lockstep', 'restart', 'none']).default('lockstep'),
    /**
     * lockstep: replicate what the app reads of the wall clock and of randomness through
     * the log (a preloaded shim; docs/cluster.md), so apps that read them stay in step.
     * false: the app reads the host's (only for an app the shim disturbs).
     */
    replicateTime: z.boolean().default(true),
    /**
     * A lockstep app's standby placed after the session started replays the log with the
     * app's timers fast-forwarded to the primary's process clocks, entry by entry, so an
     * app that ticks on its own (a clock, a game, a background job) catches up and joins
     * (docs/cluster.md). Off: its timers run in real time from its own start.
     */
    fastForward: z.boolean().default(true),
  })
  .strict();
export type AppConfig = z.infer<typeof AppConfig>;

export const UserConfig = z
  .object({
    name: ident,
    displayName: z.string().max(128).optional(),
    /** From `holdfast user hash`: scrypt$N$r$p$salt$hash. Unset: this person signs in only through the identity provider (oidc). */
    passwordHash: z.string().startsWith('scrypt$', 'a hash made by "holdfast user hash" (scrypt$…)').optional(),
    groups: z.array(ident).default([]),
  })
  .strict();
export type UserConfig = z.infer<typeof UserConfig>;

const urlOf = (text: string): URL | null => {
  try {
    return new URL(text);
  } catch {
    return null;
  }
};
/** http only on this machine (a test identity provider); anywhere else the sign-in would travel in clear. */
const isLoopback = (url: URL) => url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
const httpsUrl = (example: string) =>
  z
    .string()
    .refine((text) => urlOf(text) !== null, `a URL such as ${example}`)
    .refine((text) => {
      const url = urlOf(text);
      return url === null || url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url));
    }, 'must be https:// (http:// only on 127.0.0.1 or localhost)')
    .refine((text) => !urlOf(text)?.hash, 'a URL without a #fragment');

/**
 * Sign-in through an OpenID Connect identity provider (authorization code with PKCE).
 * Which of its people may sign in: those whose name is under users: (allowListed), and,
 * with allowUnlisted, anyone else, with the groups the provider gives them.
 */
export const OidcConfig = z
  .object({
    /** The issuer: its /.well-known/openid-configuration is read on first use. */
    issuer: httpsUrl('https://sso.example.com/realms/staff'),
    clientId: z.string().min(1).max(256),
    /** A confidential client's secret; or clientSecretFile; neither: a public client (PKCE alone). */
    clientSecret: z.string().min(1).max(1024).optional(),
    clientSecretFile: z.string().startsWith('/', 'an absolute path').optional(),
    /** How the client authenticates at the token endpoint, when it has a secret. */
    clientAuth: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
    /** The button's label: "Sign in with <displayName>". */
    displayName: z.string().min(1).max(64).default('your organisation'),
    scopes: z
      .string()
      .regex(/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/, 'scopes separated by single spaces, such as "openid profile email"')
      .refine((s) => s.split(' ').includes('openid'), 'must include openid')
      .default('openid profile email'),
    /** The claim holding the person's user name (compared with users: in lower case). */
    usernameClaim: z.string().min(1).max(64).default('preferred_username'),
    /** The claim holding the person's groups (an array of names); used for people not under users:. */
    groupsClaim: z.string().min(1).max(64).optional(),
    /** Where the provider sends people back; register it there. Default: this node's URL + /auth/oidc/callback. */
    redirectUrl: httpsUrl('https://holdfast.example.com/auth/oidc/callback')
      .refine((text) => urlOf(text)?.pathname.endsWith('/auth/oidc/callback') ?? true, 'must end in /auth/oidc/callback (the node serves it there)')
      .optional(),
    /** People whose provider user name is under users: sign in as that user. */
    allowListed: z.boolean().default(true),
    /** Anyone else the provider signs in may use Holdfast too, with groups from groupsClaim. */
    allowUnlisted: z.boolean().default(false),
  })
  .strict()
  .superRefine((oidc, ctx) => {
    if (oidc.clientSecret !== undefined && oidc.clientSecretFile !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['clientSecretFile'], message: 'give clientSecret or clientSecretFile, not both' });
    }
    if (!oidc.allowListed && !oidc.allowUnlisted) {
      ctx.addIssue({ code: 'custom', path: ['allowListed'], message: 'with allowListed and allowUnlisted both false nobody could sign in with the identity provider; remove oidc: instead' });
    }
    if (oidc.allowUnlisted && oidc.groupsClaim === undefined) {
      ctx.addIssue({ code: 'custom', path: ['groupsClaim'], message: 'allowUnlisted needs groupsClaim: people not under users: get their apps through the groups the provider gives them' });
    }
  });
export type OidcConfig = z.infer<typeof OidcConfig>;

export const Entitlement = z
  .object({
    users: z.array(ident).default([]),
    groups: z.array(ident).default([]),
    apps: z.array(ident).min(1),
  })
  .strict();

/** A length of time in minutes; fractions are allowed (0.5: 30 seconds). */
const minutes = (max: number) => z.number().min(0).max(max);

/**
 * What happens to sessions left alone, for some apps and people (docs/operations.md,
 * "Session policies"). The first policy that matches a session decides all of its
 * limits; a field it leaves out takes the default, not a later policy's value.
 */
export const SessionPolicy = z
  .object({
    /** The apps it covers; empty: every app. */
    apps: z.array(ident).default([]),
    /** The people it covers, by name or group; both empty: everyone. */
    users: z.array(ident).default([]),
    groups: z.array(ident).default([]),
    /** How long a session whose client is gone keeps running, waiting for it. Unset: node.sessionHoldSeconds. */
    disconnectedMinutes: minutes(7 * 24 * 60).optional(),
    /** The session ends after this long with a client attached and no input from the person (keys, pointer). Unset or 0: never. */
    idleMinutes: minutes(7 * 24 * 60).optional(),
    /** The session ends this long after it started, whatever happens. Unset or 0: no limit. */
    maxMinutes: minutes(366 * 24 * 60).optional(),
    /** How long before an idle or maximum-length end the person is warned (at most half the limit). */
    warnMinutes: minutes(24 * 60).default(5),
    /** Record sessions (a terminal: asciicast; a graphical app: its RFB stream; on every replica; node.recordings says where and how long). The person sees it is recorded. Unset: off. */
    recording: z.enum(['on', 'off']).optional(),
    /**
     * Whether an administrator may view (shadow) these sessions: ask (the person is asked;
     * no answer in time means no), ask-allow-on-timeout (no answer in time means yes),
     * allow (no asking; the person still sees a banner), never. Unset: ask.
     */
    shadowing: z.enum(['ask', 'ask-allow-on-timeout', 'allow', 'never']).optional(),
    /** An app with sound (apps[].sound) may play it to the person. Unset: on. */
    sound: z.enum(['on', 'off']).optional(),
    /** The person may let the app hear their microphone (they still turn it on, and their browser asks). Unset: off. */
    microphone: z.enum(['on', 'off']).optional(),
  })
  .strict();
export type SessionPolicy = z.infer<typeof SessionPolicy>;

export const ClusterConfig = z
  .object({
    /** embedded: this node alone, state in memory. etcd: a cluster sharing state through etcd v3. */
    controlPlane: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('embedded') }).strict(),
        z.object({ kind: z.literal('etcd'), endpoints: z.array(z.string().regex(/^https?:\/\/[^/]+$/, 'an etcd client URL such as http://127.0.0.1:2379')).min(1) }).strict(),
      ])
      .default({ kind: 'embedded' }),
    /** The node's membership lease: it is taken for dead this long after its last keep-alive. */
    leaseTtlMs: z.number().int().min(1000).max(60_000).default(2000),
    keepAliveMs: z.number().int().min(100).max(20_000).default(500),
    /**
     * A standby whose primary's link has not answered a ping for this long takes over
     * (by compare-and-swap in a new epoch, as at lease expiry), before the primary's lease
     * runs out: a hung or stopped primary is replaced sooner. The primary's output waits
     * for its standbys, so one superseded while it was only slow loses nothing; it finds
     * the newer epoch and steps down. 0 (the default until it has run clean in CI): only the lease decides.
     */
    peerSilenceMs: z.number().int().min(0).max(60_000).default(0),
    /**
     * A directory every node reaches at the same path (NFS, or one machine's disk): apps
     * with failover: restart keep their home here, so a restarted instance has the same files.
     */
    sharedDir: z.string().startsWith('/').optional(),
    /** The URL other nodes and clients reach this node at. Default: from listen (http://host:port, or https:// with node.tls). */
    advertiseUrl: z.string().regex(/^https?:\/\/[^/]+$/, 'a URL such as https://10.0.0.5:8443').optional(),
  })
  .strict()
  .refine((c) => c.keepAliveMs * 2 <= c.leaseTtlMs, { message: 'keepAliveMs must be at most half of leaseTtlMs', path: ['keepAliveMs'] });
export type ClusterConfig = z.infer<typeof ClusterConfig>;

export const NodeConfig = z
  .object({
    node: z
      .object({
        name: z.string().min(1).max(64).default('node-1'),
        listen: z
          .object({
            host: z.string().default('127.0.0.1'),
            port: z.number().int().min(0).max(65535).default(8080),
          })
          .strict()
          .prefault({}),
        /**
         * Serve https and wss instead of http and ws. `holdfast cert dev` makes a
         * self-signed pair for a lab; in production, a certificate from your CA. Reloaded
         * on SIGHUP (a renewed certificate needs no restart).
         */
        tls: z
          .object({
            /** PEM certificate (chain), leaf first. */
            certFile: z.string().startsWith('/', 'an absolute path'),
            /** PEM private key of the certificate. */
            keyFile: z.string().startsWith('/', 'an absolute path'),
            /**
             * CA certificates (PEM) that the other nodes' certificates chain to, for the
             * node-to-node links. Default: the system's CAs and this node's own
             * certificate (enough for a cluster sharing one certificate).
             */
            caFile: z.string().startsWith('/', 'an absolute path').optional(),
          })
          .strict()
          .optional(),
        /** Where sandboxes keep their private homes. */
        stateDir: z.string().default('/tmp/holdfast'),
        /** Session recordings (sessionPolicies' recording: on): where this node keeps its copies, and for how long after they end. */
        recordings: z
          .object({
            /** Unset: stateDir/recordings. */
            dir: z.string().startsWith('/', 'an absolute path').optional(),
            retentionDays: z.number().min(0).max(36_500).default(30),
          })
          .strict()
          .prefault({}),
        /**
         * Disk space (MiB) a session's home may never take: a launch whose home would leave
         * less free on its file system (stateDir's, or sharedDir's for a kept home) is
         * refused, so the node's own state, logs and audit stay writable.
         */
        diskReserveMiB: z.number().int().min(0).max(1_048_576).default(2048),
        /** HMAC key file for access tokens (created with mode 0600 if missing). Unset: a fresh key per start. */
        tokenKeyFile: z.string().optional(),
        accessTokenTtlSeconds: z.number().int().min(30).max(86_400).default(3600),
        /** Life of a "remember me" refresh token (desktop app); each use returns a new one. */
        refreshTokenTtlDays: z.number().int().min(1).max(365).default(30),
        /**
         * A used refresh token shown again after this long is taken for a copy, and every
         * token of its person is revoked; sooner, it is only refused (the same client retrying).
         */
        refreshTokenReuseGraceSeconds: z.number().int().min(0).max(300).default(10),
        /** Directory served at /updates/ as the desktop app's update feed (latest.yml and installers). */
        updatesDir: z.string().min(1).optional(),
        heartbeatMs: z.number().int().min(200).max(120_000).default(3000),
        /**
         * How long a session whose client is gone keeps running, waiting for it (8 hours:
         * a lunch break or a night's sleep of the laptop loses nothing). sessionPolicies
         * may set it per app or group (disconnectedMinutes).
         */
        sessionHoldSeconds: z.number().int().min(0).max(7 * 86_400).default(8 * 3600),
        maxPayloadBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(64 * 1024),
        /** Output bytes in flight to a client before the app is held back. */
        outputWindowBytes: z.number().int().min(64 * 1024).max(64 * 1024 * 1024).default(4 * 1024 * 1024),
        /** debug, info, warn or error. Unset: HOLDFAST_LOG_LEVEL, else info. Changes on a reload (SIGHUP). */
        logLevel: z.enum(['debug', 'info', 'warn', 'error']).optional(),
        /** Serve Prometheus metrics at GET /metrics on the listen address. */
        metrics: z.boolean().default(true),
        /** The audit log (JSON lines, append-only, 0600). Unset: stateDir/audit.log; false: none. */
        auditLog: z.union([z.string().startsWith('/', 'an absolute path'), z.literal(false)]).optional(),
        /**
         * Origins (scheme://host:port) whose pages may open the WebSocket, besides this
         * node's own, the cluster's nodes and the desktop app. A browser page from anywhere
         * else is refused at the upgrade.
         */
        allowedOrigins: z.array(z.string().regex(/^[a-z][a-z0-9+.-]*:\/\/[^/]+$/, 'an origin such as https://portal.example.com')).default([]),
        /**
         * Host names (no port) this node is reached by, besides the ones it knows: its
         * listen address (every address of the machine, and its name, when it listens on
         * all), localhost, its advertised and cluster URLs, its TLS certificate's names.
         * A browser page counts as the node's own only under one of them (DNS rebinding).
         */
        hostNames: z.array(z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)$/, 'a host name such as holdfast.example.com, without a port')).default([]),
        limits: z
          .object({
            /** JSON requests a connection may send per second (sustained), and in a burst. */
            requestsPerSecond: z.number().int().min(1).max(10_000).default(50),
            requestBurst: z.number().int().min(1).max(100_000).default(200),
            /** Binary frames (input, RFB) a connection may send per second, and in a burst. */
            framesPerSecond: z.number().int().min(1).max(100_000).default(2000),
            frameBurst: z.number().int().min(1).max(1_000_000).default(10_000),
            /** Running sessions one person may have, cluster-wide. */
            sessionsPerUser: z.number().int().min(1).max(1000).default(10),
            /** Sessions whose primary runs on this node. */
            sessionsPerNode: z.number().int().min(1).max(100_000).default(200),
            /** This many failed sign-ins for one name from one address lock it there for lockoutMinutes. */
            lockoutAfter: z.number().int().min(2).max(1000).default(5),
            lockoutMinutes: z.number().int().min(1).max(24 * 60).default(15),
            /**
             * Connections from one address that have not signed in yet (each may stay 10 s),
             * and how many it may open a second (sustained; twice that in a burst). An
             * office behind one NAT address signs in well within both.
             */
            anonymousPerAddress: z.number().int().min(1).max(100_000).default(64),
            anonymousConnectionsPerSecond: z.number().int().min(1).max(100_000).default(20),
          })
          .strict()
          .prefault({}),
        /**
         * Sharing a running session by link (docs/operations.md#sharing-sessions): whether
         * owners may, how many people may watch one session at once, and how long a link
         * lasts unless its owner says otherwise (and at most).
         */
        sharing: z
          .object({
            enabled: z.boolean().default(true),
            maxWatchers: z.number().int().min(1).max(100).default(10),
            defaultMinutes: z.number().int().min(1).max(7 * 24 * 60).default(60),
            maxMinutes: z.number().int().min(1).max(7 * 24 * 60).default(24 * 60),
            /**
             * Whether an owner may make a link that lets people watch without signing in,
             * giving only a name (guests). Off by default: a guest is nobody the broker knows.
             */
            guests: z.boolean().default(false),
            /** How long a person has to answer an administrator who asks to view their session. */
            shadowAskSeconds: z.number().int().min(1).max(600).default(30),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    cluster: ClusterConfig.prefault({}),
    /** Sign-in through an OpenID Connect identity provider, besides passwords. */
    oidc: OidcConfig.optional(),
    users: z.array(UserConfig).default([]),
    apps: z.array(AppConfig).default([]),
    sandboxProfiles: z.record(ident, SandboxProfile).default({}),
    entitlements: z.array(Entitlement).default([]),
    /** Hold, idle and maximum-length limits per app or group; the first that matches a session applies. */
    sessionPolicies: z.array(SessionPolicy).default([]),
    /** Whether files may be downloaded from sessions, and how large, per app or group (transfer-policy.ts); the first that matches applies. */
    transferPolicies: z.array(TransferPolicy).default([]),
  })
  .strict()
  .superRefine(checkReferences);
export type NodeConfig = z.infer<typeof NodeConfig>;
