// The configuration's cross-references, checked once its shapes passed (schema.ts):
// names that point at nothing, and combinations that cannot work, reported as config
// errors where they are written.
import type { z } from 'zod';

/** A rule that names apps, people and groups: an entitlement, a session or a transfer policy. */
interface Naming {
  apps: string[];
  users: string[];
  groups: string[];
}

/** What the check reads of a configuration that passed the schema's shapes (schema.ts). */
interface Raw {
  node: { tokenKeyFile?: string | undefined; name: string; tls?: unknown };
  cluster: { controlPlane: { kind: string }; advertiseUrl?: string | undefined };
  oidc?: { allowListed: boolean; allowUnlisted: boolean } | undefined;
  users: Array<{ name: string; passwordHash?: string | undefined; groups: string[] }>;
  apps: Array<{ id: string; sandbox: string; replicas?: number | undefined }>;
  sandboxProfiles: Record<string, unknown>;
  entitlements: Naming[];
  sessionPolicies: Naming[];
  transferPolicies: Naming[];
}

/** Names that point at nothing are config errors, reported where they are written. */
export function checkReferences(config: Raw, ctx: z.RefinementCtx): void {
  if (config.cluster.controlPlane.kind === 'etcd' && !config.node.tokenKeyFile) {
    ctx.addIssue({
      code: 'custom',
      path: ['node', 'tokenKeyFile'],
      message: 'a cluster needs node.tokenKeyFile: the same key file on every node, so a sign-in on one node is good on all of them',
    });
  }
  const advertised = config.cluster.advertiseUrl;
  if (advertised !== undefined && advertised.startsWith('https:') !== (config.node.tls !== undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: ['cluster', 'advertiseUrl'],
      message: config.node.tls ? 'this node serves TLS (node.tls): advertise an https:// URL' : 'an https:// URL needs node.tls (certFile and keyFile); or advertise http://',
    });
  }
  if (config.cluster.controlPlane.kind === 'embedded') {
    config.apps.forEach((app, i) => {
      if ((app.replicas ?? 1) > 1) ctx.addIssue({ code: 'custom', path: ['apps', i, 'replicas'], message: 'replicas above 1 need a cluster (cluster.controlPlane: etcd)' });
    });
  }
  const users = new Set<string>();
  config.users.forEach((user, i) => {
    if (users.has(user.name)) ctx.addIssue({ code: 'custom', path: ['users', i, 'name'], message: `user "${user.name}" is defined twice` });
    users.add(user.name);
    if (user.passwordHash === undefined && !config.oidc?.allowListed) {
      const why = config.oidc ? 'oidc.allowListed is false' : 'no oidc: is configured';
      ctx.addIssue({ code: 'custom', path: ['users', i, 'passwordHash'], message: `user "${user.name}" has no passwordHash and could never sign in (${why}); add one with "holdfast user hash"` });
    }
  });
  // People the identity provider lets in unlisted bring their own names and groups.
  const unlisted = config.oidc?.allowUnlisted === true;
  const apps = new Set<string>();
  config.apps.forEach((app, i) => {
    if (apps.has(app.id)) ctx.addIssue({ code: 'custom', path: ['apps', i, 'id'], message: `app "${app.id}" is defined twice` });
    apps.add(app.id);
    if (app.sandbox !== 'default' && !(app.sandbox in config.sandboxProfiles)) {
      ctx.addIssue({ code: 'custom', path: ['apps', i, 'sandbox'], message: `sandbox profile "${app.sandbox}" is not defined under sandboxProfiles` });
    }
  });
  const groups = new Set(config.users.flatMap((user) => user.groups));
  // Entitlements and policies name apps, users and groups alike.
  const named = (section: 'entitlements' | 'sessionPolicies' | 'transferPolicies', i: number, rule: Naming) => {
    rule.apps.forEach((app, j) => {
      if (!apps.has(app)) ctx.addIssue({ code: 'custom', path: [section, i, 'apps', j], message: `app "${app}" is not in the catalog (apps:)` });
    });
    rule.users.forEach((user, j) => {
      if (!users.has(user) && !unlisted) ctx.addIssue({ code: 'custom', path: [section, i, 'users', j], message: `user "${user}" is not defined under users:` });
    });
    rule.groups.forEach((group, j) => {
      if (!groups.has(group) && !unlisted) ctx.addIssue({ code: 'custom', path: [section, i, 'groups', j], message: `no user is in group "${group}"` });
    });
  };
  config.entitlements.forEach((entitlement, i) => named('entitlements', i, entitlement));
  config.sessionPolicies.forEach((policy, i) => named('sessionPolicies', i, policy));
  config.transferPolicies.forEach((policy, i) => named('transferPolicies', i, policy));
}
