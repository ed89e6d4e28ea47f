// Shadowing, on a real node with real sandboxed apps: an administrator asks to view a
// person's session; the person is asked and their answer decides — no means the
// administrator is told so, yes means they watch (and, with control, type) while the
// person sees them listed; session policies may skip the question, refuse outright, or
// let silence mean yes. Everyone else is refused. (The browser side: test/e2e-shadowing.test.ts.)
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Screen, auditEvents, client, launch, startNode, type TestNode } from '../support/harness.js';

let t: TestNode;
beforeAll(async () => {
  t = await startNode({
    admin: true,
    node: { sharing: { shadowAskSeconds: 1 } },
    apps: [{ id: 'secret', name: 'Secret', command: '/bin/cat' }],
    sessionPolicies: [
      { apps: ['secret'], shadowing: 'never' },
      { apps: ['cat'], shadowing: 'allow' },
      { apps: ['shell'], shadowing: 'ask-allow-on-timeout' },
    ],
  });
});
afterAll(() => t?.stop());

async function signedIn(user: string) {
  const c = client(t.url);
  await c.signIn(user, `${user}-pw`);
  return c;
}

describe('shadowing with consent', () => {
  it('asks the person: no refuses the administrator with their words, yes lets them view and type, and the person sees them', async () => {
    const ann = await signedIn('ann');
    const owner = await launch(ann, 'python');
    const ownerScreen = new Screen(owner);
    await ownerScreen.waitFor('>>> ');
    const admin = await signedIn('admin');

    const refused = admin.shadow(owner.sessionId!, false, 80, 24);
    await vi.waitFor(() => expect(owner.view.shadowAsk).toEqual(expect.objectContaining({ admin: 'admin', control: false, onTimeout: 'deny' })));
    owner.answerShadow(owner.view.shadowAsk!.requestId, false);
    const denied = await refused.finished();
    expect([denied.status, denied.reason]).toEqual(['failed', 'ann said no to your request to view their Python.']);

    const viewer = admin.shadow(owner.sessionId!, true, 80, 24);
    await vi.waitFor(() => expect(owner.view.shadowAsk?.control).toBe(true));
    owner.answerShadow(owner.view.shadowAsk!.requestId, true);
    await viewer.ready();
    expect(viewer.view.watching).toEqual(expect.objectContaining({ owner: 'ann', mode: 'type' }));
    await vi.waitFor(() => expect(owner.view.sharing?.watchers).toEqual([expect.objectContaining({ user: 'admin', shadow: true, mode: 'type' })]));
    const viewerScreen = new Screen(viewer);
    viewer.sendInput('print("admin" + "helps")\r');
    await ownerScreen.waitFor('adminhelps');
    await viewerScreen.waitFor('adminhelps');
    // The person sends them away like anyone watching.
    await owner.removeWatcher(owner.view.sharing!.watchers[0]!.id);
    expect((await viewer.finished()).reason).toBe('ann stopped you watching this session.');

    // Unanswered: refused (this node gives a second).
    const unanswered = admin.shadow(owner.sessionId!, false, 80, 24);
    await vi.waitFor(() => expect(owner.view.shadowAsk).not.toBeNull());
    expect((await unanswered.finished()).reason).toBe('ann did not answer within 1 s, so you may not view their Python.');
    await vi.waitFor(() => expect(owner.view.shadowAsk).toBeNull());

    expect(auditEvents(t.stateDir, 'session.shadow-answer').map((e) => e.result)).toEqual(['denied', 'allowed']);
    expect(auditEvents(t.stateDir, 'session.shadow-request')).toHaveLength(3);
    expect(auditEvents(t.stateDir, 'session.shadow').map((e) => [e.user, e.detail, e.result])).toEqual([['admin', 'control', 'allowed']]);
    owner.close();
    for (const c of [ann, admin]) c.signOut();
  });

  it('follows the session policy: never refuses, allow does not ask, ask-allow-on-timeout lets silence (or nobody there) mean yes', async () => {
    const ann = await signedIn('ann');
    const admin = await signedIn('admin');
    const secret = await launch(ann, 'secret');
    const never = await admin.shadow(secret.sessionId!, false, 80, 24).finished();
    expect(never.reason).toBe('ann’s Secret may not be viewed by administrators: its session policy says never.');
    expect(secret.view.shadowAsk).toBeNull();

    const cat = await launch(ann, 'cat');
    const unasked = admin.shadow(cat.sessionId!, false, 80, 24);
    await unasked.ready();
    expect(cat.view.shadowAsk).toBeNull();
    await vi.waitFor(() => expect(cat.view.sharing?.watchers.map((w) => w.user)).toEqual(['admin']));

    const shell = await launch(ann, 'shell');
    const shellId = shell.sessionId!;
    shell.detach();
    // Nobody has it open to ask: this policy lets the administrator in.
    const absent = admin.shadow(shellId, false, 80, 24);
    await absent.ready();
    expect(absent.view.watching?.owner).toBe('ann');

    // Someone who is not an administrator may not.
    const bob = await signedIn('bob');
    expect((await bob.shadow(cat.sessionId!, false, 80, 24).finished()).reason).toBe('Only administrators (the "admins" group) may view other people\'s sessions.');
    for (const stream of [secret, cat]) stream.close();
    for (const c of [ann, admin, bob]) c.signOut();
  });
});
