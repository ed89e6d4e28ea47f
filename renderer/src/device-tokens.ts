// This device's proof, per person, that it signed in as them before (the broker's
// deviceToken): kept in the page's storage, so others guessing a person's password
// from elsewhere do not slow their sign-in here. It opens nothing by itself, which is
// why ordinary storage is enough; a storage that refuses (private mode, a locked-down
// kiosk profile) only loses the exemption.
import type { DeviceTokens } from '../../shared/core/index.js';

const PREFIX = 'holdfast.device.';

export function storedDeviceTokens(storage: Pick<Storage, 'getItem' | 'setItem'>, brokerUrl: string): DeviceTokens {
  const key = (user: string) => `${PREFIX}${brokerUrl}|${user.toLowerCase()}`;
  return {
    get(user) {
      try {
        return storage.getItem(key(user));
      } catch {
        return null;
      }
    },
    set(user, token) {
      try {
        storage.setItem(key(user), token);
      } catch {
        /* not kept: the next sign-in is throttled like a new device's */
      }
    },
  };
}
