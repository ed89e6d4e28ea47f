// The app catalog and who may launch what. Entitlements name users or groups; a
// person sees, and may launch, exactly the union of apps granted to them.
import type { AppInfo, UserInfo } from '../shared/protocol/index.js';
import type { AppConfig, NodeConfig, UserConfig } from './config/schema.js';

export class Catalog {
  private apps = new Map<string, AppConfig>();
  private users = new Map<string, UserConfig>();
  private config!: Pick<NodeConfig, 'apps' | 'users' | 'entitlements'>;

  constructor(config: Pick<NodeConfig, 'apps' | 'users' | 'entitlements'>) {
    this.replace(config);
  }

  /** A config reload: from now on, sign-ins, app lists and launches see the new catalog. Running sessions keep their app. */
  replace(config: Pick<NodeConfig, 'apps' | 'users' | 'entitlements'>): void {
    this.config = config;
    this.apps = new Map(config.apps.map((app) => [app.id, app]));
    this.users = new Map(config.users.map((user) => [user.name, user]));
  }

  user(name: string): UserConfig | undefined {
    return this.users.get(name);
  }

  userInfo(name: string): UserInfo | null {
    const user = this.users.get(name);
    if (!user) return null;
    return { name: user.name, displayName: user.displayName ?? user.name, groups: user.groups };
  }

  app(id: string): AppConfig | undefined {
    return this.apps.get(id);
  }

  entitledAppIds(userName: string): Set<string> {
    const user = this.users.get(userName);
    const ids = new Set<string>();
    if (!user) return ids;
    for (const entitlement of this.config.entitlements) {
      const granted = entitlement.users.includes(user.name) || entitlement.groups.some((group) => user.groups.includes(group));
      if (granted) for (const app of entitlement.apps) ids.add(app);
    }
    return ids;
  }

  /** The apps a person may launch, in catalog order. */
  appsFor(userName: string): AppInfo[] {
    const ids = this.entitledAppIds(userName);
    return this.config.apps
      .filter((app) => ids.has(app.id))
      .map((app) => ({ id: app.id, name: app.name, description: app.description, icon: app.icon, display: app.display }));
  }
}
