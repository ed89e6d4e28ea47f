// Guessing a person's password from many places must slow the guesser, not lock out the
// person (issue 21, item 3): the per-name limit that stops slow distributed guessing
// does not apply to a device that has signed in as that person before, and the
// person's own sign-in starts the name's count again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, startNode, type TestNode } from '../support/harness.js';
import { attempt, hammer } from '../support/sign-in-attack.js';

let t: TestNode;
beforeAll(async () => {
  t = await startNode({ node: { limits: { lockoutAfter: 5, lockoutMinutes: 15 } } });
});
afterAll(async () => {
  await t?.stop();
});

describe('a name guessed from many addresses', () => {
  it('slows new devices, but the person signs in at once from a device they used before, and then from anywhere', async () => {
    // bob's laptop: it signed in before.
    const laptop = client(t.url);
    await laptop.signIn('bob', 'bob-pw');
    laptop.signOut();
    // 60 wrong guesses for bob from 12 addresses: more than the 50 a name is allowed from anywhere.
    for (let a = 10; a < 22; a++) await hammer(t.url, `127.0.0.${a}`, 'bob', 6);
    // The per-name limit holds against the guessers: right after one more guess, the next
    // from yet another address is refused unchecked.
    await attempt(t.url, '127.0.0.40', 'bob', 'guess');
    const guess = (await attempt(t.url, '127.0.0.42', 'bob', 'guess')).reply;
    expect(guess.code).toBe('rate_limited');
    // bob, on his laptop, is not locked out by someone else's guessing…
    const user = await laptop.signIn('bob', 'bob-pw');
    expect(user.name).toBe('bob');
    laptop.signOut();
    // …and his sign-in starts the name's count again: a new device of his signs in too.
    const phone = (await attempt(t.url, '127.0.0.41', 'bob', 'bob-pw')).reply;
    expect(phone.type, JSON.stringify(phone)).toBe('auth.signedIn');
  }, 60_000);
});
