// Protocol fuzzing (fast-check): random and mutated frames thrown at a real node's
// gateway, signed in or not, with a session or without. Whatever arrives, the node
// answers only with well-formed messages, never shows a stack trace or a path of its
// own, never crashes — and a well-behaved person's session keeps echoing throughout.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServerMessage, SUBPROTOCOL, encodeInput, encodeOutputAck, encodeRfb } from '../shared/protocol/index.js';
import { Screen, bearer, client, launch, rawSocket, startNode, type TestNode } from '../support/harness.js';
import type { SessionStream } from '../shared/core/index.js';

let t: TestNode;
let token: string;
let bystander: SessionStream;
let screen: Screen;

beforeAll(async () => {
  // Sessions a fuzzed connection launches end when it closes (no hold), so none pile up.
  // Frames are fuzzed here, not connection rates: a fresh connection a run is allowed.
  t = await startNode({ node: { sessionHoldSeconds: 0, limits: { sessionsPerUser: 1000, anonymousPerAddress: 100_000, anonymousConnectionsPerSecond: 100_000 } } });
  const ann = client(t.url);
  await ann.signIn('ann', 'ann-pw');
  token = ann.apiToken!;
  bystander = await launch(ann, 'cat');
  screen = new Screen(bystander);
});
afterAll(async () => {
  bystander?.close();
  await t?.stop();
});

const TYPES = ['auth.signIn', 'auth.signInWithToken', 'auth.refresh', 'apps.list', 'session.launch', 'session.resize', 'session.resume', 'session.attach', 'session.end', 'sessions.list', 'ping', 'nonsense'];

/** A message of a real type with fields of any shape: what a buggy or hostile client sends. */
const mutatedMessage = fc
  .record({ type: fc.constantFrom(...TYPES), fields: fc.dictionary(fc.constantFrom('id', 'user', 'password', 'appId', 'cols', 'rows', 'sessionId', 'resumeToken', 'inputSeq', 'refreshToken', 'remember'), fc.jsonValue(), { maxKeys: 6 }) })
  .map(({ type, fields }) => JSON.stringify({ type, ...fields }));

/** A real binary frame with bytes flipped, cut short or run on. */
const mutatedFrame = fc
  .record({
    frame: fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.uint8Array({ maxLength: 64 })).map(([seq, data]) => encodeInput(seq, data)),
      fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((offset) => encodeOutputAck(offset)),
      fc.uint8Array({ maxLength: 64 }).map((data) => encodeRfb(data)),
    ),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    cut: fc.option(fc.nat()),
  })
  .map(({ frame, flips, cut }) => {
    const bytes = Uint8Array.from(frame);
    for (const [at, value] of flips) if (bytes.length > 0) bytes[at % bytes.length] = value;
    return cut === null ? bytes : bytes.slice(0, cut % (bytes.length + 1));
  });

const frameArb = fc.oneof(
  fc.string({ maxLength: 300 }).map((text) => ({ text })),
  fc.json().map((text) => ({ text })),
  mutatedMessage.map((text) => ({ text })),
  fc.uint8Array({ maxLength: 300 }).map((binary) => ({ binary })),
  mutatedFrame.map((binary) => ({ binary })),
);

/** What must never reach a client: stack frames, source paths, the node's own file system. */
const LEAK = /\n\s+at |\bat [\w.<>]+ \(|\.ts:\d+|\.js:\d+|node_modules|\/work\/|\/tmp\/holdfast|TypeError|ReferenceError|SyntaxError/;

describe('protocol fuzzing', () => {
  it('answers random and mutated frames with well-formed errors, leaks nothing, and keeps serving a well-behaved client', async () => {
    // The leak check itself catches what it is for.
    expect("TypeError: x is undefined\n    at handle (/work/main/broker/gateway/client-connection.ts:120:9)").toMatch(LEAK);
    let runs = 0;
    const seen = { errors: 0, closes: new Map<number, number>() };
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 8 }), fc.boolean(), fc.integer({ min: 0, max: 3 }), async (frames, signedIn, launchFirst) => {
        runs += 1;
        const raw = rawSocket(t.url, signedIn ? bearer(token) : [SUBPROTOCOL]);
        await raw.opened;
        // A quarter of the signed-in runs fuzz a connection that streams a session.
        if (signedIn && launchFirst === 0) {
          raw.ws.send(JSON.stringify({ type: 'session.launch', id: 1, appId: 'cat', cols: 80, rows: 24 }));
          await raw.next('session.started');
        }
        for (const frame of frames) if (raw.ws.readyState === raw.ws.OPEN) raw.ws.send('text' in frame ? frame.text : frame.binary);
        const closed = await Promise.race([raw.closed, new Promise<null>((r) => setTimeout(() => r(null), 60))]);
        if (closed) seen.closes.set(closed.code, (seen.closes.get(closed.code) ?? 0) + 1);
        raw.ws.terminate();
        seen.errors += raw.messages.filter((m) => m.type === 'error').length;
        for (const message of raw.messages) {
          const parsed = ServerMessage.safeParse(message);
          expect(parsed.success, `not a well-formed server message: ${JSON.stringify(message)}`).toBe(true);
          expect(JSON.stringify(message)).not.toMatch(LEAK);
        }
        // The person next door keeps working (every few runs: an echo is a round trip).
        if (runs % 10 === 0) {
          bystander.sendInput(`still-${runs}\r`);
          await screen.waitFor(`still-${runs}\r\nstill-${runs}`, 5000);
        }
      }),
      { numRuns: 300, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31), endOnFailure: true },
    );
    expect(runs).toBe(300);
    // The fuzzing reached the refusals: errors answered, connections closed with protocol codes.
    expect(seen.errors).toBeGreaterThan(100);
    expect((seen.closes.get(1002) ?? 0) + (seen.closes.get(1003) ?? 0)).toBeGreaterThan(50);
    bystander.sendInput('the end\r');
    await screen.waitFor('the end\r\nthe end');
  }, 120_000);
});
