// What a refused download or upload says (files-api.ts, files-zip.ts, uploads-api.ts): the administrator's
// switches and limits in words a person can act on.
import { HttpError } from './admin-api.js';

const MiB = 1024 * 1024;

/** The administrator's switch, in words: what a listing carries and a refused download says. */
export const downloadOffWords = (appName: string) => `Downloading files from ${appName} is turned off by your administrator.`;

/** The same for uploads: what a listing carries and a refused upload says. */
export const uploadOffWords = (appName: string) => `Uploading files to ${appName} is turned off by your administrator.`;

/** 413: a file over the transfer policy's maxFileMiB; `after` says what to do about it. */
export function tooLarge(name: string, bytes: number, maxFileMiB: number, appName: string, after = ''): HttpError {
  return new HttpError(413, 'too_large', `${name} is ${mebibytes(bytes)}; files larger than ${maxFileMiB} MiB cannot be downloaded from ${appName} (your administrator’s limit).${after}`);
}

/** "5.0 MiB", "2048 MiB". */
export function mebibytes(bytes: number): string {
  const value = bytes / MiB;
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} MiB`;
}
