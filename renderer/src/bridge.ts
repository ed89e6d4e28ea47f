// The desktop shell's preload exposes a small named API on window.holdfast; in a
// plain browser it is absent and the web client uses its own origin.
import type { DesktopApi } from '../../shared/ipc.js';

export function desktopBridge(): DesktopApi | undefined {
  return (window as unknown as { holdfast?: DesktopApi }).holdfast;
}
