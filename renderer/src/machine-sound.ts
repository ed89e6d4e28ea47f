// Sound on this computer, as its machine policy has it (docs/desktop.md, `sound`): the
// desktop shell says so in its config; a plain browser has no machine policy, and
// sound is allowed both ways. Provided once at the root (main.tsx), read by the
// session tab's sound controls.
import { createContext } from 'react';
import { SOUND_ALLOWED, type SoundPolicy } from '../../shared/policy.js';

export const MachineSound = createContext<SoundPolicy>(SOUND_ALLOWED);
