// The app catalog and who may launch what. Entitlements name users or groups; a
// person sees, and may launch, exactly the union of apps granted to them. A person is
// someone under users:, or — when oidc.allowUnlisted is on — someone the identity
// provider signed in, with the groups it gave them (their tokens carry those).
import type { AppInfo, UserInfo } from '../shared/protocol/index.js';
import type { FederatedClaims } from './auth/tokens.js';
import type { AppConfig, NodeConfig, UserConfig } from './config/schema.js';

/** Members of this group may use the admin API (and see the admin view). */
export const ADMIN_GROUP = 'admins';

type CatalogConfig = Pick<NodeConfig, 'apps' | 'users' | 'entitlements'> & Partial<Pick<NodeConfig, 'oidc'>>;

export class Catalog {
  private apps = new Map<string, AppConfig>();
  private users = new Map<string, UserConfig>();
  private config!: CatalogConfig;

  constructor(config: CatalogConfig) {
    this.replace(config);
  }

  /** A config reload: from now on, sign-ins, app lists and launches see the new catalog. Running sessions keep their app. */
  replace(config: CatalogConfig): void {
    this.config = config;
    this.apps = new Map(config.apps.map((app) => [app.id, app]));
    this.users = new Map(config.users.map((user) => [user.name, user]));
  }

  user(name: string): UserConfig | undefined {
    return this.users.get(name);
  }

  /** Every password hash in the config, one per person who has one (what an unknown name's check must cost like). */
  passwordHashes(): string[] {
    return [...this.users.values()].flatMap((user) => (user.passwordHash ? [user.passwordHash] : []));
  }

  userInfo(name: string): UserInfo | null {
    const user = this.users.get(name);
    if (!user) return null;
    return { name: user.name, displayName: user.displayName ?? user.name, groups: user.groups };
  }

  /** Whether people the identity provider signs in may be here without an entry under users:. */
  get allowsUnlisted(): boolean {
    return this.config.oidc?.allowUnlisted === true;
  }

  /**
   * Who a token's holder is now: the person under users: by that name (whatever the
   * token says about them: the config is the truth), else an IdP person the config
   * still lets in unlisted, as their token describes them; null for anyone else.
   */
  identify(name: string, federated?: FederatedClaims): UserInfo | null {
    const listed = this.userInfo(name);
    if (listed) return listed;
    if (!federated || !this.allowsUnlisted) return null;
    return { name, displayName: federated.displayName, groups: federated.groups };
  }

  /** Groups that mean something here: those entitlements name, and the admins group. */
  groupsInUse(): Set<string> {
    return new Set([ADMIN_GROUP, ...this.config.entitlements.flatMap((entitlement) => entitlement.groups)]);
  }

  app(id: string): AppConfig | undefined {
    return this.apps.get(id);
  }

  /** A person (as identify() gives them), or the name of one under users:. */
  entitledAppIds(person: UserInfo | string): Set<string> {
    const user = typeof person === 'string' ? this.users.get(person) : person;
    const ids = new Set<string>();
    if (!user) return ids;
    for (const entitlement of this.config.entitlements) {
      const granted = entitlement.users.includes(user.name) || entitlement.groups.some((group) => user.groups.includes(group));
      if (granted) for (const app of entitlement.apps) ids.add(app);
    }
    return ids;
  }

  /** The apps a person may launch, in catalog order. */
  appsFor(person: UserInfo | string): AppInfo[] {
    const ids = this.entitledAppIds(person);
    return this.config.apps
      .filter((app) => ids.has(app.id))
      .map((app) => ({ id: app.id, name: app.name, description: app.description, icon: app.icon, display: app.display, ...(app.sound ? { sound: true } : {}) }));
  }
}
