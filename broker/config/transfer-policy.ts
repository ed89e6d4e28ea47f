// Which files may leave a session, for some apps and people (docs/operations.md,
// "File transfer policies"): whether its person may download from it, upload into it
// and receive what its app prints, and how large a file may be. Like sessionPolicies,
// the first policy that matches decides as a whole (a field it leaves out takes the
// default, never a later policy's value). Unlike them it is read when a file or a
// print job comes, not settled at launch: a reload (SIGHUP) applies to running
// sessions at once.
import { z } from 'zod';
import { matches, type PolicyPerson } from './policy-match.js';

const ident = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'an id of lowercase letters, digits, "-" or "_", starting with a letter');

export const TransferPolicy = z
  .object({
    /** The apps it covers; empty: every app. */
    apps: z.array(ident).default([]),
    /** The people it covers, by name or group; both empty: everyone. */
    users: z.array(ident).default([]),
    groups: z.array(ident).default([]),
    /** Whether the person may download files from the session's home. */
    download: z.boolean().default(true),
    /** Whether the person may upload files into the session's home. */
    upload: z.boolean().default(true),
    /** Whether what the session's app prints reaches the person (as a PDF). */
    print: z.boolean().default(true),
    /** The largest file that may be downloaded or uploaded, in MiB. */
    maxFileMiB: z.number().int().min(1).max(1_048_576).default(2048),
  })
  .strict();
export type TransferPolicy = z.infer<typeof TransferPolicy>;

/** What a transfer may do: the first matching policy's switches, or the defaults. */
export interface TransferRules {
  download: boolean;
  upload: boolean;
  print: boolean;
  maxFileMiB: number;
}

export const DEFAULT_TRANSFER_RULES: TransferRules = { download: true, upload: true, print: true, maxFileMiB: 2048 };

export function transferRulesFor(policies: readonly TransferPolicy[], appId: string, person: PolicyPerson): TransferRules {
  const policy = policies.find((p) => matches(p, appId, person));
  return policy ? { download: policy.download, upload: policy.upload, print: policy.print, maxFileMiB: policy.maxFileMiB } : DEFAULT_TRANSFER_RULES;
}
