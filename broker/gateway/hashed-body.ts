// Sending a download's bytes as they come (files-api.ts: a file; files-zip.ts: a zip),
// with backpressure, hashing what was sent for the audit log. The head goes with the
// first bytes, so a read that fails at once is still answered in words; once bytes have
// gone, a failure cuts the connection short (before Content-Length), so the client knows
// it does not have it all.
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

export interface Sent {
  result: 'completed' | 'cut';
  bytes: number;
  /** SHA-256 of the bytes sent, hex. */
  sha256: string;
  /** Why it was cut. */
  detail?: string;
}

/**
 * Sends `body`; `head` writes the head (once, with the first bytes or at the end);
 * `refuse` answers a failure that came before any byte, in words. Resolves once the
 * answer is over, however it ended.
 */
export function sendHashed(response: ServerResponse, body: Readable, head: () => void, refuse: (error: Error) => void): Promise<Sent> {
  const hash = createHash('sha256');
  let sent = 0;
  const outcome = (result: Sent['result'], detail?: string): Sent => ({ result, bytes: sent, sha256: hash.copy().digest('hex'), ...(detail ? { detail } : {}) });
  return new Promise<Sent>((resolve) => {
    let ended: Sent | null = null;
    const end = (result: Sent) => {
      if (ended) return;
      ended = result;
      resolve(result);
    };
    const writeHead = () => response.headersSent || head();
    body.on('data', (chunk: Buffer) => {
      writeHead();
      hash.update(chunk);
      sent += chunk.length;
      if (!response.write(chunk)) body.pause();
    });
    response.on('drain', () => body.resume());
    body.on('end', () => {
      writeHead();
      response.end();
    });
    body.on('error', (error) => {
      const cut = outcome('cut', error.message);
      if (response.headersSent) response.destroy();
      else refuse(error);
      end(cut);
    });
    response.on('finish', () => end(outcome('completed')));
    // Closed before it finished: the person went (or the node cut it above); stop reading.
    response.on('close', () => {
      if (response.writableFinished) return;
      end(outcome('cut', 'the connection closed before the end'));
      body.destroy();
    });
  });
}
