// A download resumed on another replica (docs/protocol.md#session-files): after a
// failover the new primary's copy of a file has the same bytes as the old one's — the
// replicas are in lockstep — but its own modification time and inode, so another ETag,
// and If-Range alone would send the whole file again. A client may prove what it holds:
// `Holdfast-Resume: <offset> <SHA-256 of bytes 0…offset-1>`. The node hashes the same
// head of its own copy and, if it matches, sends the rest (206) — never a splice of two
// versions, since a head that differs by one byte gives another hash.
import { createHash } from 'node:crypto';
import type { SessionFile } from './context.js';

export const RESUME_PROOF_HEADER = 'holdfast-resume';

export interface ResumeProof {
  offset: number;
  sha256: string;
}

export function parseResumeProof(header: string | string[] | undefined): ResumeProof | null {
  const match = typeof header === 'string' ? /^(\d{1,15}) ([0-9a-f]{64})$/.exec(header.trim()) : null;
  return match ? { offset: Number(match[1]), sha256: match[2]! } : null;
}

/** Whether the first `proof.offset` bytes of `file` hash to `proof.sha256` (read from the sandbox, as a download is). */
export async function headMatches(file: SessionFile, proof: ResumeProof): Promise<boolean> {
  if (proof.offset === 0 || proof.offset > file.size) return false;
  const hash = createHash('sha256');
  try {
    for await (const chunk of file.read(0, proof.offset) as AsyncIterable<Buffer>) hash.update(chunk);
  } catch {
    return false; // changed while read, or unreadable now: send it whole
  }
  return hash.digest('hex') === proof.sha256;
}
