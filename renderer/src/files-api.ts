// A session's files as the Files panel reads them (issue 23): the signed-in person's
// access token as a bearer header, answers parsed as unknown with the schemas in shared/,
// refusals in the broker's words. Downloads go through resumable-download.ts and end as
// the browser's own download (an object URL on an <a download>). No React here.
import { FilesErrorCode, FilesErrorSchema, FileListingSchema, type FileListing } from '../../shared/protocol/index.js';
import type { HoldfastClient } from '../../shared/core/index.js';
import { DownloadRefused, resumableDownload, type DownloadProgress, type DownloadResult } from './resumable-download.js';

/** A files route said no, or could not be reached. `code` is the broker's (null: no answer or not JSON). */
export class FilesApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'FilesApiError';
  }

  /** The administrator turned downloads off for this app. */
  get downloadOff(): boolean {
    return this.code === FilesErrorCode.downloadOff;
  }
}

/** The broker's words for a refusal, or words of ours where it gave none. */
async function refusal(reply: Response): Promise<{ message: string; code: string | null }> {
  const answer: unknown = await reply.json().catch(() => null);
  const error = FilesErrorSchema.safeParse(answer);
  if (error.success) return { message: error.data.message, code: error.data.error };
  if (reply.status === 401) return { message: 'You are signed out; sign in again.', code: null };
  if (reply.status === 503 || reply.status === 502 || reply.status === 504) return { message: 'The broker is busy just now; try again in a moment.', code: null };
  return { message: `The broker answered HTTP ${reply.status}.`, code: null };
}

export class FilesApi {
  constructor(
    private readonly client: HoldfastClient,
    readonly sessionId: string,
  ) {}

  private base(): string {
    return `${this.client.brokerUrl.replace(/^ws/, 'http').replace(/\/+$/, '')}/api/sessions/${encodeURIComponent(this.sessionId)}/files`;
  }

  private headers(): Record<string, string> {
    const token = this.client.apiToken;
    if (!token) throw new FilesApiError('You are signed out; sign in again.', 401, null);
    return { authorization: `Bearer ${token}` };
  }

  /** The folder at `path` ('' for the home). */
  async list(path: string, signal?: AbortSignal): Promise<FileListing> {
    const headers = this.headers();
    let reply: Response;
    try {
      reply = await fetch(`${this.base()}?path=${encodeURIComponent(path)}`, { headers, cache: 'no-store', signal });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new FilesApiError('The broker did not answer; check the connection and try again.', 0, null);
    }
    if (!reply.ok) {
      const { message, code } = await refusal(reply);
      throw new FilesApiError(message, reply.status, code);
    }
    const parsed = FileListingSchema.safeParse(await reply.json().catch(() => null));
    if (!parsed.success) throw new FilesApiError('The broker sent a listing this client does not understand; is it another version?', reply.status, null);
    return parsed.data;
  }

  /**
   * The files and folders at `paths` (folders whole) as one zip. A zip is made anew for
   * each request, so it cannot resume from a byte: after a drop — or when a file in it
   * changed while it was read, which cuts it off — it starts again from the beginning, at
   * most twice (resumable-download.ts starts over where there is no ETag).
   */
  downloadZip(paths: readonly string[], options: { signal?: AbortSignal; onProgress?: (progress: DownloadProgress) => void } = {}): Promise<DownloadResult> {
    return resumableDownload({
      url: zipUrl(this.base(), paths),
      headers: () => this.headers(),
      signal: options.signal,
      onProgress: options.onProgress,
      maxRestarts: 2,
      describeRefusal: async (reply) => {
        const { message, code } = await refusal(reply);
        return new DownloadRefused(message, reply.status, code);
      },
    });
  }

  /** The file at `path`, whole, resuming after drops (see resumable-download.ts). */
  download(path: string, options: { signal?: AbortSignal; onProgress?: (progress: DownloadProgress) => void } = {}): Promise<DownloadResult> {
    return resumableDownload({
      url: `${this.base()}/content?path=${encodeURIComponent(path)}`,
      headers: () => this.headers(),
      signal: options.signal,
      onProgress: options.onProgress,
      describeRefusal: async (reply) => {
        const { message, code } = await refusal(reply);
        return new DownloadRefused(message, reply.status, code);
      },
    });
  }
}

/** Hands `blob` to the browser's own download, saved as `name`. */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The browser has taken the bytes once the download started; a minute is plenty.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The zip call for `paths`: one `path` parameter each. */
export const zipUrl = (base: string, paths: readonly string[]) => `${base}/zip?${paths.map((path) => `path=${encodeURIComponent(path)}`).join('&')}`;

/** Most characters of `path` parameters one zip's address may carry (a node takes 16 KiB of head). */
export const MAX_ZIP_QUERY = 12_000;

/** Whether a zip of `paths` fits in one request's address. */
export const zipFits = (paths: readonly string[]) => zipUrl('', paths).length <= MAX_ZIP_QUERY;

/** What a zip of `names` (in one folder) is saved as: the name of the one, or the app's files. */
export const zipName = (names: readonly string[], appName: string) => (names.length === 1 ? `${names[0]}.zip` : `${appName} files.zip`);

/** A path inside the home, from its folder and a name in it. */
export const childPath = (folder: string, name: string) => (folder ? `${folder}/${name}` : name);

/** 512 bytes, 1.2 kB, 3.0 MB, 24 MB, 1.1 GB (decimal units, as file managers and browsers show them). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return bytes === 1 ? '1 byte' : `${Math.round(bytes)} bytes`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 999.5 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** Time left in words: "less than a second", "12 s", "3 min 5 s", "1 h 2 min". */
export function formatSecondsLeft(seconds: number): string {
  if (seconds < 1) return 'less than a second';
  const whole = Math.ceil(seconds);
  if (whole < 60) return `${whole} s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return whole % 60 ? `${minutes} min ${whole % 60} s` : `${minutes} min`;
  const rest = minutes % 60;
  return rest ? `${Math.floor(minutes / 60)} h ${rest} min` : `${Math.floor(minutes / 60)} h`;
}
