// A graphical session as a test or the bench drives it: the session core's stream with
// an RfbViewer drawing it (a new one after each resume, as noVNC does).
import { RfbViewer } from '../broker/host/rfb-viewer.js';
import type { HoldfastClient, SessionStream } from '../shared/core/index.js';
import { waitFor } from './wait.js';

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
      const steady = hash === previous && viewer.drawn();
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
