// Sharing a session by link, on a real node with real sandboxed apps: someone with the
// link watches the owner's terminal live; their keys reach the app only when the link
// lets them type, then once each; revoking sends them away at once; bad links, a full
// session and a watcher that reads nothing are refused or let go without the owner
// waiting. (The browser side: test/e2e-sharing.test.ts.)
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CloseCode, ErrorCode, encodeInput, type SessionSharing } from '../shared/protocol/index.js';
import { Screen, auditEvents, bearer, client, launch, rawSocket, startNode, type TestNode } from '../support/harness.js';
import { Gui, launchGui } from './gui.js';
import { waitFor } from './demo-node.js';

const XTERM = { id: 'gui-xterm', name: 'GUI XTerm', display: 'rfb', geometry: '800x600', command: '/usr/bin/xterm', args: ['-fa', 'DejaVu Sans Mono', '-fs', '11'] };

let t: TestNode;
beforeAll(async () => {
  t = await startNode({ node: { sharing: { maxWatchers: 2, guests: true } }, apps: [XTERM] });
});
afterAll(() => t?.stop());

const count = (text: string, what: string) => text.split(what).length - 1;
/** How watchers are told of ann (her display name: the harness gives her none, so her name). */
const annName = 'ann';

describe('sharing a session', () => {
  it('lets someone watch, then type once each keystroke, then sends them away when the link is revoked', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const owner = await launch(ann, 'python');
    const ownerScreen = new Screen(owner);
    await ownerScreen.waitFor('>>> ');

    const made = await owner.share('view');
    const link = made.shares[0]!.link!;
    expect(made.shares[0]).toEqual(expect.objectContaining({ mode: 'view', expiresAt: expect.any(Number) }));
    expect(made.shares[0]!.expiresAt - Date.now()).toBeGreaterThan(59 * 60_000);

    const bob = client(t.url);
    await bob.signIn('bob', 'bob-pw');
    const watcher = bob.join(link, 80, 24);
    const watcherScreen = new Screen(watcher);
    await watcher.ready();
    expect(watcher.view.watching).toEqual(expect.objectContaining({ owner: 'ann', mode: 'view', appName: expect.any(String) }));
    // The owner is told who came.
    await vi.waitFor(() => expect(owner.view.sharing?.watchers.map((w) => [w.user, w.mode])).toEqual([['bob', 'view']]));

    owner.sendInput('6*7\r');
    await ownerScreen.waitFor('42\r\n>>> ');
    await watcherScreen.waitFor('42\r\n>>> ');

    // A view-only watcher's keys never reach the app: his client does not send them, and
    // a client that does anyway is told so (and keeps its connection).
    expect(watcher.sendInput('print("from", "bob")\r')).toBe(false);
    const hostile = rawSocket(t.url, bearer(bob.apiToken!));
    await hostile.opened;
    hostile.ws.send(JSON.stringify({ type: 'session.join', id: 1, link, tab: 'hostile-tab-01', cols: 80, rows: 24 }));
    await hostile.next('session.joined');
    hostile.ws.send(encodeInput(1, new TextEncoder().encode('print("from", "hostile")\r')));
    expect(await hostile.next('error')).toEqual(expect.objectContaining({ code: ErrorCode.viewOnly, message: expect.stringMatching(/only watch/) }));
    owner.sendInput('print("after", 1+1)\r');
    await ownerScreen.waitFor('after 2');
    await watcherScreen.waitFor('after 2');
    expect(ownerScreen.text).not.toContain('from');
    expect(hostile.ws.readyState).toBe(hostile.ws.OPEN);
    hostile.ws.close();

    // Can type: his input arrives once.
    const typed = await owner.updateShare(made.shares[0]!.id, 'type');
    expect(typed.shares[0]!.mode).toBe('type');
    await vi.waitFor(() => expect(watcher.view.watching?.mode).toBe('type'));
    watcher.sendInput('print("bob" + "typed")\r');
    await ownerScreen.waitFor('bobtyped\r\n>>> ');
    await watcherScreen.waitFor('bobtyped\r\n>>> ');
    await vi.waitFor(() => expect(watcher.view.pendingInputs).toBe(0));
    expect(count(ownerScreen.text, 'bobtyped\r\n')).toBe(1);
    expect(ownerScreen.text).not.toContain('from');

    // Revoked: he leaves within a second, told why; the owner's session goes on.
    const revokedAt = Date.now();
    await owner.revokeShare(made.shares[0]!.id);
    const end = await watcher.finished();
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    expect(end.reason).toBe(`${annName} stopped sharing this session.`);
    await vi.waitFor(() => expect(owner.view.sharing?.watchers).toEqual([]));
    // The link opens nothing now.
    const again = bob.join(link, 80, 24);
    const refused = await again.finished();
    expect(refused.status).toBe('failed');
    expect(refused.reason).toMatch(/does not open a session/);
    owner.sendInput('print("still", 3*3)\r');
    await ownerScreen.waitFor('still 9');

    const events = auditEvents(t.stateDir, 'session.share').concat(auditEvents(t.stateDir, 'session.join'), auditEvents(t.stateDir, 'session.share-change'), auditEvents(t.stateDir, 'session.share-revoke'));
    expect(events.map((e) => [e.event, e.user])).toEqual([
      ['session.share', 'ann'],
      ['session.join', 'bob'],
      ['session.join', 'bob'],
      ['session.share-change', 'ann'],
      ['session.share-revoke', 'ann'],
    ]);
    owner.close();
    for (const c of [ann, bob]) c.signOut();
  });

  it('refuses a guessed link, a link to a session that is not shared, a full session, and sharing from a connection without the session', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const owner = await launch(ann, 'python');
    const made = await owner.share('view');
    const link = made.shares[0]!.link!;
    const [sessionId, shareId] = link.split('.');

    const bob = client(t.url);
    await bob.signIn('bob', 'bob-pw');
    for (const guessed of [`${sessionId}.${shareId}.${'A'.repeat(24)}`, `${sessionId}.nosuch.${'A'.repeat(24)}`, 'not a link at all']) {
      const ended = await bob.join(guessed, 80, 24).finished();
      expect([ended.status, ended.reason]).toEqual(['failed', 'This link does not open a session: it may have been revoked or mistyped. Ask whoever shared it for a new link.']);
    }

    // Two may watch (this node's maxWatchers); a third is told why.
    const first = bob.join(link, 80, 24);
    const second = ann.join(link, 80, 24);
    await Promise.all([first.ready(), second.ready()]);
    const third = await bob.join(link, 80, 24).finished();
    expect(third.reason).toBe('2 people are already watching this session, the most allowed. Try again when someone leaves.');

    // The owner sends one away; the other stays.
    const watchers = owner.view.sharing!.watchers;
    await owner.removeWatcher(watchers.find((w) => w.user === 'bob')!.id);
    expect((await first.finished()).reason).toBe(`${annName} stopped you watching this session.`);
    expect(second.view.status).toBe('streaming');

    // Sharing is asked for where the session is open, not on a bare connection.
    const bare = rawSocket(t.url, bearer(ann.apiToken!));
    await bare.opened;
    bare.ws.send(JSON.stringify({ type: 'session.share.create', id: 1, mode: 'type' }));
    expect(await bare.next('error')).toEqual(expect.objectContaining({ id: 1, code: ErrorCode.noSession }));
    bare.ws.close();
    owner.close();
    for (const c of [ann, bob]) c.signOut();
  });

  it('lets go of a watcher that reads nothing while the owner floods output, and the owner never waits for it', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const owner = await launch(ann, 'shell');
    const ownerScreen = new Screen(owner);
    await ownerScreen.waitFor('$ ');
    const made: SessionSharing = await owner.share('view');

    const bob = client(t.url);
    await bob.signIn('bob', 'bob-pw');
    const slow = rawSocket(t.url, bearer(bob.apiToken!));
    await slow.opened;
    slow.ws.send(JSON.stringify({ type: 'session.join', id: 1, link: made.shares[0]!.link, tab: 'slow-tab-0001', cols: 80, rows: 24 }));
    expect(await slow.next('session.joined')).toEqual(expect.objectContaining({ owner: 'ann', mode: 'view' }));
    // It stops reading: what the node sends it piles up in the node's socket.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();

    owner.sendInput(`seq 1 200000 | sed 's/$/ the quick brown fox/'; echo FLOOD''-END\r`);
    await ownerScreen.waitFor('FLOOD-END', 60_000);
    // Let go (it would join again from a snapshot), while the owner went on.
    await vi.waitFor(() => expect(owner.view.sharing?.watchers).toEqual([]), { timeout: 10_000 });
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    // Closed as fallen behind — or cut off, if the node gave up on a socket that answered no pings before its close frame got through.
    expect([CloseCode.goingAway, 1006]).toContain((await slow.closed).code);
    owner.close();
    for (const c of [ann, bob]) c.signOut();
  });
  it('shares a graphical app: the watcher sees the owner\'s screen through a viewer of its own, and types into it only when allowed', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const owner = await launchGui(ann, XTERM.id);
    await owner.steady();
    const made = await owner.stream.share('view');
    const bob = client(t.url);
    await bob.signIn('bob', 'bob-pw');
    const watcher = new Gui(bob.join(made.shares[0]!.link!, 80, 24));
    await watcher.stream.ready();
    expect(watcher.stream.view.watching).toEqual(expect.objectContaining({ display: 'rfb', mode: 'view' }));
    await watcher.viewer.ready;
    // The same screen, pixel for pixel (its own viewer, its own encodings).
    const same = async () => {
      const [a, b] = [await owner.steady(), await watcher.steady()];
      return a.hash === b.hash ? a : null;
    };
    const start = await waitFor('the watcher to show the owner\'s screen', same, 15_000);
    owner.viewer.type('echo shared-$((6*7))\n');
    const typed = await waitFor('the owner\'s line on both screens', async () => {
      const now = await same();
      return now && now.hash !== start.hash ? now : null;
    }, 15_000);
    // View only: the watcher's keys are not even sent, and the screen stays as it was.
    watcher.viewer.type('echo not-sent\n');
    expect(watcher.stream.view.pendingInputs).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    expect((await owner.steady()).hash).toBe(typed.hash);
    // Can type: his keys reach the app (through the log) and both screens change alike.
    await owner.stream.updateShare(made.shares[0]!.id, 'type');
    await vi.waitFor(() => expect(watcher.stream.view.watching?.mode).toBe('type'));
    watcher.viewer.type('echo from-bob\n');
    await waitFor('the watcher\'s line on both screens', async () => {
      const now = await same();
      return now && now.hash !== typed.hash ? now : null;
    }, 15_000);
    await vi.waitFor(() => expect(watcher.stream.view.pendingInputs).toBe(0));
    await owner.stream.revokeShare(made.shares[0]!.id);
    expect((await watcher.stream.finished()).reason).toBe(`${annName} stopped sharing this session.`);
    owner.stream.close();
    for (const c of [ann, bob]) c.signOut();
  }, 60_000);
  it('lets a guest watch, named as they asked, only through a link made for guests', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const owner = await launch(ann, 'python');
    const ownerScreen = new Screen(owner);
    await ownerScreen.waitFor('>>> ');
    const forPeople = (await owner.share('view')).shares.at(-1)!.link!;
    const made = await owner.share('view', 15, true);
    const forGuests = made.shares.find((s) => s.link)!;
    expect(forGuests.guests).toBe(true);
    expect(made.guestsAllowed).toBe(true);

    // Nobody signed in: a link for people who sign in is refused; a guest link lets Zoe in.
    const stranger = client(t.url);
    const refused = await stranger.joinAsGuest(forPeople, 'Zoe', 80, 24).finished();
    expect(refused.reason).toBe('This link is for people who sign in: sign in to watch.');
    const guest = stranger.joinAsGuest(forGuests.link!, 'Zoe', 80, 24);
    const guestScreen = new Screen(guest);
    await guest.ready();
    owner.sendInput('6*7\r');
    await guestScreen.waitFor('42');
    await vi.waitFor(() => expect(owner.view.sharing?.watchers).toEqual([expect.objectContaining({ displayName: 'Zoe', user: 'guest:Zoe', guest: true })]));
    expect(auditEvents(t.stateDir, 'session.join').at(-1)).toEqual(expect.objectContaining({ user: null, detail: 'view, guest "Zoe"' }));

    // A bare connection that neither signs in nor gives a name is told what to do.
    const bare = rawSocket(t.url);
    await bare.opened;
    bare.ws.send(JSON.stringify({ type: 'session.join', id: 1, link: forGuests.link, tab: 'bare-tab-0001', cols: 80, rows: 24 }));
    expect(await bare.next('error')).toEqual(expect.objectContaining({ code: ErrorCode.unauthenticated, message: 'Sign in to watch this session (or give a name, if its link lets guests in).' }));
    bare.ws.close();
    guest.close();
    owner.close();
    ann.signOut();
  });

  it('makes no guest links where the node does not allow guests', async () => {
    const strict = await startNode();
    try {
      const ann = client(strict.url);
      await ann.signIn('ann', 'ann-pw');
      const owner = await launch(ann, 'cat');
      await expect(owner.share('view', 15, true)).rejects.toThrow('This broker does not allow links for guests: the people you share with sign in.');
      expect((await owner.share('view')).guestsAllowed).toBe(false);
      owner.close();
      ann.signOut();
    } finally {
      await strict.stop();
    }
  });
});
