// A session's uploads from this client (issue 23): files picked in the Files panel or
// dropped on the session's tab go into the session's home, two at a time, each resumed
// after a dropped network or a failover (shared/core/resumable-upload.ts). Each ends in
// words a person reads — "report.pdf is in your home folder" — or why not, with what to
// do. No React here: the tab's components subscribe to it (useUploadQueue).
import { cancelUpload, resumableUpload, UploadRefused, type FetchLike, type HoldfastClient, type UploadProgress } from '../../shared/core/index.js';
import { FileListingSchema } from '../../shared/protocol/index.js';
import { formatBytes, formatSecondsLeft } from './files-api.js';

/** A file to upload and where it goes in the home (a folder dropped as a folder keeps its path). */
export interface Pick {
  file: File;
  path: string;
}

export interface UploadItem {
  id: number;
  /** Where it was asked to go, relative to the home. */
  path: string;
  size: number;
  state: 'waiting' | 'uploading' | 'done' | 'failed' | 'cancelled';
  progress: UploadProgress | null;
  /** How it ended, in words (null while it runs). */
  words: string | null;
}

/** Uploads running at once (the session takes four; the rest wait their turn here). */
const AT_ONCE = 2;

export class UploadQueue {
  items: readonly UploadItem[] = [];
  /** The administrator's words when uploads are off for this app (from a listing or a refusal); null: allowed or not known. */
  off: string | null = null;
  private next = 1;
  private readonly waiting: Array<{ item: UploadItem; file: File }> = [];
  private readonly running = new Map<number, { controller: AbortController; upload: number | null }>();
  private readonly listeners = new Set<() => void>();
  private checked = false;

  constructor(
    private readonly client: HoldfastClient,
    readonly sessionId: string,
    private readonly fetcher: FetchLike = fetch as unknown as FetchLike,
  ) {}

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Learns once whether uploads are allowed (the home's listing says so), so the tab offers them only where they work. */
  async checkAllowed(): Promise<void> {
    if (this.checked) return;
    this.checked = true;
    try {
      const reply = await this.fetcher(`${this.base()}/files?path=`, { method: 'GET', headers: this.headers() });
      const listing = FileListingSchema.safeParse(await reply.json());
      if (listing.success) this.setOff(listing.data.uploadOff ?? null);
    } catch {
      this.checked = false; // try again on the next drag
    }
  }

  setOff(words: string | null): void {
    if (words === this.off) return;
    this.off = words;
    this.changed();
  }

  add(picks: readonly Pick[]): void {
    for (const { file, path } of picks) {
      const item: UploadItem = { id: this.next++, path, size: file.size, state: 'waiting', progress: null, words: null };
      this.items = [...this.items, item];
      this.waiting.push({ item, file });
    }
    this.changed();
    this.pump();
  }

  /** Stops an upload (or takes it off the waiting list): the session keeps nothing of it. */
  cancel(id: number): void {
    const waiting = this.waiting.findIndex((w) => w.item.id === id);
    if (waiting >= 0) {
      this.waiting.splice(waiting, 1);
      this.update(id, { state: 'cancelled', words: `${nameOf(this.find(id)!.path)} was not uploaded: you cancelled it.` });
      return;
    }
    const run = this.running.get(id);
    if (!run) return;
    run.controller.abort();
    if (run.upload !== null) void cancelUpload(this.fetcher, this.httpBase(), this.sessionId, run.upload, this.headers());
  }

  /** Forgets the ones that ended (the person read them). */
  clearEnded(): void {
    this.items = this.items.filter((item) => item.state === 'waiting' || item.state === 'uploading');
    this.changed();
  }

  /** The session ended or its tab closed: uploads stop (the session's copy goes with it). */
  stop(): void {
    this.waiting.length = 0;
    for (const run of this.running.values()) run.controller.abort();
  }

  private pump(): void {
    while (this.running.size < AT_ONCE && this.waiting.length > 0) {
      const { item, file } = this.waiting.shift()!;
      void this.run(item, file);
    }
  }

  private async run(item: UploadItem, file: File): Promise<void> {
    const controller = new AbortController();
    const run = { controller, upload: null as number | null };
    this.running.set(item.id, run);
    this.update(item.id, { state: 'uploading' });
    const name = nameOf(item.path);
    try {
      const done = await resumableUpload({
        baseUrl: this.httpBase(),
        sessionId: this.sessionId,
        path: item.path,
        source: { size: file.size, read: async (offset, length) => new Uint8Array(await file.slice(offset, offset + length).arrayBuffer()) },
        headers: () => this.headers(),
        fetch: this.fetcher,
        signal: controller.signal,
        onBegun: (upload) => (run.upload = upload),
        onProgress: (progress) => this.update(item.id, { progress }),
      });
      const where = done.path.includes('/') ? `is in your home folder, in ${done.path.slice(0, done.path.lastIndexOf('/'))}` : 'is in your home folder';
      const renamed = nameOf(done.path) !== name ? ` (as ${nameOf(done.path)}: ${name} was taken)` : '';
      this.update(item.id, { state: 'done', words: `${name}${renamed} ${where}.` });
    } catch (error) {
      if (controller.signal.aborted) this.update(item.id, { state: 'cancelled', words: `${name} was not uploaded: you cancelled it.` });
      else {
        if (error instanceof UploadRefused && error.code === 'upload_off') this.setOff(error.message);
        const why = error instanceof Error ? error.message : String(error);
        this.update(item.id, { state: 'failed', words: `${name} could not be uploaded. ${why}${error instanceof UploadRefused ? '' : ' Check the connection, then upload it again.'}` });
      }
    } finally {
      this.running.delete(item.id);
      this.pump();
    }
  }

  private find(id: number): UploadItem | undefined {
    return this.items.find((item) => item.id === id);
  }

  private update(id: number, change: Partial<UploadItem>): void {
    this.items = this.items.map((item) => (item.id === id ? { ...item, ...change } : item));
    this.changed();
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  private httpBase(): string {
    return this.client.brokerUrl.replace(/^ws/, 'http').replace(/\/+$/, '');
  }

  private base(): string {
    return `${this.httpBase()}/api/sessions/${encodeURIComponent(this.sessionId)}`;
  }

  private headers(): Record<string, string> {
    return { authorization: `Bearer ${this.client.apiToken ?? ''}` };
  }
}

/** A path's last part. */
export const nameOf = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/** "3.1 MB of 50 MB · 12 MB/s · 4 s left", or why it waits. */
export function uploadWords(item: UploadItem): string {
  if (item.state === 'waiting') return 'Waiting for the uploads before it…';
  const p = item.progress;
  if (!p) return 'Starting…';
  if (p.retrying) return `${p.retrying[0]!.toUpperCase()}${p.retrying.slice(1)} (from ${formatBytes(p.sent)})…`;
  const parts = [`${formatBytes(p.sent)} of ${formatBytes(item.size)}`];
  if (p.bytesPerSecond) parts.push(`${formatBytes(p.bytesPerSecond)}/s`);
  if (p.secondsLeft !== null) parts.push(`${formatSecondsLeft(p.secondsLeft)} left`);
  return parts.join(' · ');
}

