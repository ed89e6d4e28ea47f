// A graphical session as a test drives it: the session core's stream with an RfbViewer
// drawing it (a new one after each resume, as noVNC does), and framebuffer helpers.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RfbViewer } from '../broker/host/rfb-viewer.js';
import type { HoldfastClient, SessionStream } from '../shared/core/index.js';
import { waitFor } from './demo-node.js';

/** A GUI session and the viewer currently drawing it (a resume starts a new one). */
export class Gui {
  viewer: RfbViewer;

  constructor(readonly stream: SessionStream) {
    this.viewer = this.newViewer();
    stream.setSink({
      write: (data, done) => {
        this.viewer.push(data);
        done();
      },
      reset: () => {
        this.viewer.close();
        this.viewer = this.newViewer();
      },
    });
  }

  private newViewer(): RfbViewer {
    return new RfbViewer({
      send: (bytes, kind) => (kind === 'input' ? this.stream.sendInputMessage(bytes) : this.stream.sendViewer(bytes)),
      close: () => {},
    });
  }

  /** Waits for the app to have drawn (the bare display is black) and hold still (two equal frames 200 ms apart). */
  async steady(): Promise<{ hash: string; pixels: Uint8Array; width: number; height: number }> {
    let previous = '';
    return waitFor('the app to draw and hold still', async () => {
      const viewer = this.viewer;
      let hash: string;
      try {
        await viewer.ready;
        hash = await viewer.frameHash();
      } catch (error) {
        // A resume replaced the viewer mid-look (a reconnect): look again with the new one.
        if (viewer !== this.viewer) return null;
        throw error;
      }
      const steady = hash === previous && drawn(viewer.framebuffer);
      previous = hash;
      if (!steady) await new Promise((r) => setTimeout(r, 200));
      return steady ? { hash, pixels: viewer.framebuffer.slice(), width: viewer.width, height: viewer.height } : null;
    }, 15_000);
  }
}

export async function launchGui(c: HoldfastClient, appId: string): Promise<Gui> {
  const gui = new Gui(c.launch(appId, 80, 24));
  await gui.stream.ready();
  for (;;) {
    const viewer = gui.viewer;
    try {
      await viewer.ready;
      return gui;
    } catch (error) {
      // A resume replaced the viewer before its handshake (the stream reconnected at once): wait for the new one.
      if (viewer === gui.viewer) throw error;
    }
  }
}

/** More than 1 % of the screen is not black. */
function drawn(pixels: Uint8Array): boolean {
  let lit = 0;
  for (let i = 0; i < pixels.length; i += 4) if (pixels[i]! + pixels[i + 1]! + pixels[i + 2]! > 0) lit += 1;
  return lit > pixels.length / 4 / 100;
}

/** The rows (of 8 px bands) where two frames differ, but for a square `except`. */
export function changedBands(a: Uint8Array, b: Uint8Array, width: number, except?: { x: number; y: number; r: number }): number[] {
  const bands = new Set<number>();
  for (let i = 0; i < a.length; i += 4) {
    if (a[i] === b[i] && a[i + 1] === b[i + 1] && a[i + 2] === b[i + 2]) continue;
    const [x, y] = [(i / 4) % width, Math.floor(i / 4 / width)];
    if (except && Math.abs(x - except.x) <= except.r && Math.abs(y - except.y) <= except.r) continue;
    bands.add(Math.floor(y / 8));
  }
  return [...bands].sort((x, y) => x - y);
}


/** The contents of `name` in every sandbox home under a node's state directory. */
export function homeFiles(stateDir: string, name: string): string[] {
  const dir = join(stateDir, 'sandboxes');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((id) => join(dir, id, 'home', name))
    .filter((path) => existsSync(path))
    .map((path) => readFileSync(path, 'utf8'));
}
