// An attacker's sign-in attempts over raw sockets, from any 127.x address (all reach a
// loopback node): one attempt, or wrong passwords one after another, waiting out short
// refusals as a patient attacker would.
import { SUBPROTOCOL } from '../shared/protocol/index.js';
import { rawSocket } from './harness.js';

type Reply = Record<string, unknown>;
type Raw = ReturnType<typeof rawSocket>;

/** Signs in over a raw socket from `from` (reusing `socket` while it is open). */
export async function attempt(url: string, from: string, user: string, password: string, socket?: Raw): Promise<{ reply: Reply; socket: Raw }> {
  const ws = socket ?? rawSocket(url, [SUBPROTOCOL], { localAddress: from });
  if (!socket) {
    const refused = await ws.opened.then(() => null, (error: Error) => error.message);
    // Too many connections from this address waiting to sign in, or opened too fast (HTTP 429): an attacker waits a moment.
    if (refused === 'HTTP 429') {
      await new Promise((r) => setTimeout(r, 100));
      return attempt(url, from, user, password);
    }
    if (refused) throw new Error(refused);
  }
  const id = Math.floor(Math.random() * 1e9);
  ws.ws.send(JSON.stringify({ type: 'auth.signIn', id, user, password }));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const reply = ws.messages.find((m) => m.id === id);
    if (reply) {
      ws.messages.splice(ws.messages.indexOf(reply), 1);
      return { reply, socket: ws };
    }
    // Closed under it (the connection's 10 s to sign in, or its request rate): an attacker reconnects.
    if (ws.ws.readyState !== ws.ws.OPEN && socket) return attempt(url, from, user, password);
    if (Date.now() > deadline) throw new Error(`no answer to sign-in ${id}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** `count` wrong passwords for `user` from `from`; waits under 5 s are waited out. */
export async function hammer(url: string, from: string, user: string, count: number): Promise<Reply[]> {
  let socket: Raw | undefined;
  const answers: Reply[] = [];
  for (let i = 0; i < count; i++) {
    const { reply, socket: used } = await attempt(url, from, user, `guess-${i}`, socket);
    socket = used;
    answers.push(reply);
    const wait = typeof reply.retryAfterMs === 'number' ? reply.retryAfterMs : 0;
    if (reply.code === 'rate_limited' && wait < 5000) await new Promise((r) => setTimeout(r, wait + 10));
  }
  socket?.ws.close();
  return answers;
}
