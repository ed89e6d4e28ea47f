// End to end, keyboards in graphical apps (issue 26, point 3): a real node, the web
// client in Debian's Chromium, X apps on their own Xvnc. Chromium is fed the key events
// a German (or Russian, or US-International) keyboard makes, through CDP — the key, its
// code and the text it types, as Chromium reports them — and the test reads what the app
// got: xev's log of every key (keysym and modifier state), and the files xedit and
// Mousepad save. The person expects what they typed, under their own layout; AltGr
// characters without a Ctrl+Alt leaking into the app; shortcuts that still work; an
// input method's composition committed as its characters — as many different ones as
// they type (Xvnc has only a few spare keys for characters its keymap lacks).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type TestNode } from '../support/harness.js';
import { readRunningHomeFile } from '../support/homes.js';
import { waitFor } from '../support/wait.js';
import { axeViolations, bundleWebClient, launchChromium, signIn } from './page.js';
import { launch, saveFailure, settledCanvas } from './rfb-page.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');
/** xev, filling the display: every key and click it gets, in its home's xev.log. */
const KEY_LOG = { id: 'key-log', name: 'Key log', display: 'rfb', geometry: '800x600', command: '/bin/bash', args: ['-c', 'exec /usr/bin/xev -event keyboard -event button > "$HOME/xev.log"'] };
const EDITOR = { id: 'editor', name: 'Text editor', display: 'rfb', geometry: '800x600', command: '/usr/bin/xedit', args: ['-xrm', 'xedit*loadTags: false', 'notes.txt'] };
const MOUSEPAD = { id: 'mousepad', name: 'Mousepad', display: 'rfb', geometry: '800x600', command: '/usr/bin/mousepad', args: ['/home/user/typed.txt'], env: { NO_AT_BRIDGE: '1', GTK_A11Y: 'none' } };

let t: TestNode;
let web: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let cdp: CDPSession;
const consoleLines: string[] = [];

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  web = mkdtempSync(join(tmpdir(), 'holdfast-e2e-keyboard-web-'));
  await bundleWebClient(web);
  t = await startNode({ webRoot: web, apps: [KEY_LOG, EDITOR, MOUSEPAD] });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on('console', (message) => consoleLines.push(`${new Date().toISOString()} ${message.type()}: ${message.text()}`));
  cdp = await context.newCDPSession(page);
  await page.goto(t.url);
  await signIn(page, 'ann', 'ann-pw');
  await page.getByRole('button', { name: 'Launch Key log', exact: true }).waitFor();
}, 120_000);

afterEach(async (test) => {
  if (test.task.result?.state === 'fail') await saveFailure(artifacts, 'failed-rfb-keyboard', test.task.name, page, '', consoleLines);
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await t?.stop();
  if (web) rmSync(web, { recursive: true, force: true });
});

/** CDP's modifier bits. */
const ALT = 1;
const CTRL = 2;
const SHIFT = 8;

interface Key {
  key: string;
  code: string;
  /** What the key types (a character key); none for a modifier, a dead key, a shortcut. */
  text?: string;
  modifiers?: number;
  location?: number;
  keyCode?: number;
}

/** One key pressed and released as Chromium reports it from the keyboard (keydown with its text, keyup). */
async function press(k: Key): Promise<void> {
  await down(k);
  await up(k);
}
async function down(k: Key): Promise<void> {
  await cdp.send('Input.dispatchKeyEvent', {
    type: k.text ? 'keyDown' : 'rawKeyDown',
    key: k.key,
    code: k.code,
    ...(k.text ? { text: k.text, unmodifiedText: k.text } : {}),
    modifiers: k.modifiers ?? 0,
    location: k.location ?? 0,
    windowsVirtualKeyCode: k.keyCode ?? 0,
  });
}
async function up(k: Key): Promise<void> {
  await cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', key: k.key, code: k.code, modifiers: k.modifiers ?? 0, location: k.location ?? 0, windowsVirtualKeyCode: k.keyCode ?? 0 });
}

/** A German keyboard (de, as Linux and Windows have it): the keys this test presses, as Chromium reports them. */
const DE = {
  u: { key: 'u', code: 'KeyU', text: 'u', keyCode: 85 },
  ue: { key: 'ü', code: 'BracketLeft', text: 'ü', keyCode: 186 },
  b: { key: 'b', code: 'KeyB', text: 'b', keyCode: 66 },
  e: { key: 'e', code: 'KeyE', text: 'e', keyCode: 69 },
  r: { key: 'r', code: 'KeyR', text: 'r', keyCode: 82 },
  z: { key: 'z', code: 'KeyY', text: 'z', keyCode: 90 },
  sz: { key: 'ß', code: 'Minus', text: 'ß', keyCode: 219 },
  space: { key: ' ', code: 'Space', text: ' ', keyCode: 32 },
  /** ´, a dead key: it types nothing; the next key types the accented letter. */
  deadAcute: { key: 'Dead', code: 'Equal', keyCode: 221 },
  eAcute: { key: 'é', code: 'KeyE', text: 'é', keyCode: 69 },
  /** ^, a dead key. */
  deadCircumflex: { key: 'Dead', code: 'Backquote', keyCode: 220 },
  eCircumflex: { key: 'ê', code: 'KeyE', text: 'ê', keyCode: 69 },
  shift: { key: 'Shift', code: 'ShiftLeft', location: 1, keyCode: 16, modifiers: SHIFT },
  slash: { key: '/', code: 'Digit7', text: '/', keyCode: 55, modifiers: SHIFT },
  /** AltGr as Chromium on Linux reports it: AltGraph, with no Ctrl or Alt. */
  altGr: { key: 'AltGraph', code: 'AltRight', location: 2, keyCode: 225 },
  at: { key: '@', code: 'KeyQ', text: '@', keyCode: 81 },
  ctrl: { key: 'Control', code: 'ControlLeft', location: 1, keyCode: 17, modifiers: CTRL },
  /** AltGr as Chromium on Windows reports it: Ctrl, then AltGraph with Ctrl and Alt set. */
  winAltGr: { key: 'AltGraph', code: 'AltRight', location: 2, keyCode: 18, modifiers: CTRL | ALT },
  winEuro: { key: '€', code: 'KeyE', text: '€', keyCode: 69, modifiers: CTRL | ALT },
  winAt: { key: '@', code: 'KeyQ', text: '@', keyCode: 81, modifiers: CTRL | ALT },
  enter: { key: 'Enter', code: 'Enter', text: '\r', keyCode: 13 },
} satisfies Record<string, Key>;

/** A US-International keyboard: Shift+' is a dead diaeresis; then u types ü. */
const US_INTL = {
  shift: DE.shift,
  deadDiaeresis: { key: 'Dead', code: 'Quote', keyCode: 222, modifiers: SHIFT },
  uDiaeresis: { key: 'ü', code: 'KeyU', text: 'ü', keyCode: 85 },
} satisfies Record<string, Key>;

/** One event from xev's log. */
interface XEvent {
  type: string;
  /** The X modifier state: Shift 1, Lock 2, Control 4, Mod1 (Alt) 8, Mod5 (AltGr) 0x80. */
  state: number;
  keysym?: number;
  text?: string;
  x?: number;
  y?: number;
}

/** xev's log in the Key log session's home, as events. */
function xevLog(): XEvent[] {
  const dir = join(t.stateDir, 'sandboxes');
  const log = readdirSync(dir)
    .map((id) => readRunningHomeFile(t.stateDir, id, 'xev.log'))
    .find((bytes) => bytes !== null);
  if (!log) return [];
  return log
    .toString('utf8')
    .split(/\n\n/)
    .map((block) => {
      const type = /^(\w+) event/.exec(block.trim())?.[1] ?? '';
      const state = /state 0x([0-9a-f]+)/.exec(block);
      const keysym = /keysym 0x([0-9a-f]+)/.exec(block);
      const text = /XLookupString gives \d+ bytes: (?:\([0-9a-f ]+\) )?"(.*)"/.exec(block);
      const at = /root:\((-?\d+),(-?\d+)\)/.exec(block);
      return {
        type,
        state: state ? parseInt(state[1]!, 16) : 0,
        ...(keysym ? { keysym: parseInt(keysym[1]!, 16) } : {}),
        ...(text ? { text: text[1] } : {}),
        ...(at ? { x: Number(at[1]), y: Number(at[2]) } : {}),
      };
    })
    .filter((e) => e.type !== '');
}

const CONTROL_MASK = 0x4;
const MOD1_MASK = 0x8;
const SHIFT_MASK = 0x1;

/** The printable characters xev's key presses typed (XLookupString; a shortcut's control characters left out). */
function typedIn(events: XEvent[]): string {
  return events
    .filter((e) => e.type === 'KeyPress' && e.text !== undefined && /^\P{Cc}+$/u.test(e.text))
    .map((e) => e.text)
    .join('');
}

async function clickInto(app: string, x: number, y: number): Promise<void> {
  const canvas = page.getByRole('region', { name: `${app} session` }).locator('canvas').first();
  const box = (await canvas.boundingBox())!;
  await page.mouse.click(box.x + x, box.y + y);
}

/** Clicks xedit's Save button (top left of its window) and waits for the file, read as xedit writes it: Latin-1. */
async function saveXedit(name: string, expected: string): Promise<string> {
  await clickInto('Text editor', 52, 8);
  return waitFor(`xedit to save ${name}`, () => {
    for (const id of readdirSync(join(t.stateDir, 'sandboxes'))) {
      const text = readRunningHomeFile(t.stateDir, id, name)?.toString('latin1');
      if (text === expected) return text;
    }
    return null;
  }, 20_000).catch(() => {
    const found = readdirSync(join(t.stateDir, 'sandboxes')).map((id) => readRunningHomeFile(t.stateDir, id, name)?.toString('latin1'));
    throw new Error(`xedit saved ${JSON.stringify(found)}, not ${JSON.stringify(expected)}`);
  });
}

describe('keys from a German keyboard', () => {
  it('arrive in the app as typed: ü, ß, z where US has y, / from Shift+7, dead keys, AltGr — and shortcuts as shortcuts', async () => {
    await launch(page, 'Key log');
    await settledCanvas(page, 'Key log');
    await clickInto('Key log', 400, 300);
    const before = xevLog().length;
    for (const k of [DE.ue, DE.b, DE.e, DE.r, DE.sz, DE.z]) await press(k);
    await down(DE.shift);
    await press(DE.slash);
    await up(DE.shift);
    // Dead keys: ´ then e, ^ then e.
    await press(DE.deadAcute);
    await press(DE.eAcute);
    await press(DE.deadCircumflex);
    await press(DE.eCircumflex);
    // AltGr+Q as Linux reports it.
    await down(DE.altGr);
    await press(DE.at);
    await up(DE.altGr);
    // AltGr+E and AltGr+Q as Windows reports them (Ctrl+Alt).
    await down(DE.ctrl);
    await down(DE.winAltGr);
    await press(DE.winEuro);
    await press(DE.winAt);
    await up({ ...DE.winAltGr, modifiers: CTRL });
    await up({ ...DE.ctrl, modifiers: 0 });
    // US-International: Shift+' (dead diaeresis), then u.
    await down(US_INTL.shift);
    await press(US_INTL.deadDiaeresis);
    await up(US_INTL.shift);
    await press(US_INTL.uDiaeresis);
    // Shortcuts: Ctrl+C, Ctrl+Shift+T, and Ctrl+C on a Russian keyboard (the key types "с").
    await down(DE.ctrl);
    await press({ key: 'c', code: 'KeyC', modifiers: CTRL, keyCode: 67 });
    await down({ ...DE.shift, modifiers: CTRL | SHIFT });
    await press({ key: 'T', code: 'KeyT', modifiers: CTRL | SHIFT, keyCode: 84 });
    await up({ ...DE.shift, modifiers: CTRL });
    await press({ key: 'с', code: 'KeyC', modifiers: CTRL, keyCode: 67 });
    await up({ ...DE.ctrl, modifiers: 0 });
    await press({ key: 'x', code: 'KeyX', text: 'x', keyCode: 88 });

    const events = await waitFor('xev to log the last key', () => {
      const all = xevLog().slice(before);
      return all.some((e) => e.type === 'KeyRelease' && e.keysym === 0x78) ? all : null;
    }, 20_000);
    await page.screenshot({ path: join(artifacts, 'rfb-keyboard-xev.png') });
    const presses = events.filter((e) => e.type === 'KeyPress');
    console.log('xev key presses:', JSON.stringify(presses.map((e) => [e.keysym?.toString(16), e.state.toString(16), e.text])));

    expect(typedIn(events)).toBe('überßz/éê@€@üx');
    // The AltGr characters came without Ctrl or Alt (a Ctrl+Alt+@ is a command to many apps).
    for (const char of ['@', '€']) {
      for (const e of presses.filter((p) => p.text === char)) expect(e.state & (CONTROL_MASK | MOD1_MASK), `state of ${char}`).toBe(0);
    }
    // The shortcuts: c with Control, T with Control and Shift, and the Russian key's c with Control.
    const shortcuts = presses.filter((e) => e.state & CONTROL_MASK && e.keysym !== undefined && e.keysym < 0x100);
    expect(shortcuts.map((e) => [String.fromCharCode(e.keysym!), e.state & (CONTROL_MASK | SHIFT_MASK | MOD1_MASK)])).toEqual([
      ['c', CONTROL_MASK],
      ['T', CONTROL_MASK | SHIFT_MASK],
      ['c', CONTROL_MASK],
    ]);
  });

  it('types into xedit as typed, with shortcuts under a Russian layout still xedit’s', async () => {
    await launch(page, 'Text editor');
    await settledCanvas(page, 'Text editor');
    await clickInto('Text editor', 300, 200);
    for (const k of [DE.ue, DE.b, DE.e, DE.r, DE.space]) await press(k);
    await down(DE.altGr);
    await press(DE.at);
    await up(DE.altGr);
    await press(DE.deadAcute);
    await press(DE.eAcute);
    await press(DE.space);
    await down(DE.ctrl);
    await down(DE.winAltGr);
    await press(DE.winAt);
    await up({ ...DE.winAltGr, modifiers: CTRL });
    await up({ ...DE.ctrl, modifiers: 0 });
    await down(US_INTL.shift);
    await press(US_INTL.deadDiaeresis);
    await up(US_INTL.shift);
    await press(US_INTL.uDiaeresis);
    // Ctrl+A (to the line's start, in xedit) with the Russian key that types "ф".
    await down(DE.ctrl);
    await press({ key: 'ф', code: 'KeyA', modifiers: CTRL, keyCode: 65 });
    await up({ ...DE.ctrl, modifiers: 0 });
    for (const k of [DE.z, DE.space]) await press(k);
    // Ctrl+E (to the line's end) with the key that types "у".
    await down(DE.ctrl);
    await press({ key: 'у', code: 'KeyE', modifiers: CTRL, keyCode: 69 });
    await up({ ...DE.ctrl, modifiers: 0 });
    await press(DE.enter);
    await settledCanvas(page, 'Text editor');
    await page.screenshot({ path: join(artifacts, 'rfb-keyboard-xedit.png') });
    // xedit (Athena's text widget, not in its "international" mode) writes Latin-1.
    expect(await saveXedit('notes.txt', 'z über @é @ü\n')).toBe('z über @é @ü\n');
  });
});

describe('an input method in a GTK editor', () => {
  it('commits 日本語 into Mousepad, and many different characters after it (more than Xvnc has spare keys for)', async () => {
    await launch(page, 'Mousepad');
    await settledCanvas(page, 'Mousepad');
    await clickInto('Mousepad', 300, 200);
    // A Japanese input method: the reading is shown while it is chosen, then the words are committed.
    await cdp.send('Input.imeSetComposition', { text: 'にほんご', selectionStart: 4, selectionEnd: 4 });
    await cdp.send('Input.insertText', { text: '日本語' });
    await press({ key: 'Enter', code: 'Enter', text: '\r', keyCode: 13 });
    // (No CJK font in the sandbox: Mousepad draws each character as a box with its code; the file has the text.)
    await settledCanvas(page, 'Mousepad');
    await page.screenshot({ path: join(artifacts, 'rfb-keyboard-mousepad-ime.png') });
    // Then 300 different characters, committed a phrase of 10 at a time, faster than any
    // person (Xvnc 1.12 alone has 19 spare keys for characters its US keymap lacks, and
    // never frees one: broker/host/keymap-keeper.ts).
    const many = Array.from({ length: 300 }, (_, i) => String.fromCodePoint(0x4e00 + i * 7)).join('');
    for (let i = 0; i < many.length; i += 10) {
      await cdp.send('Input.imeSetComposition', { text: 'か', selectionStart: 1, selectionEnd: 1 });
      await cdp.send('Input.insertText', { text: many.slice(i, i + 10) });
      await new Promise((r) => setTimeout(r, 250));
    }
    await press({ key: 'Enter', code: 'Enter', text: '\r', keyCode: 13 });
    await down(DE.ctrl);
    await press({ key: 's', code: 'KeyS', modifiers: CTRL, keyCode: 83 });
    await up({ ...DE.ctrl, modifiers: 0 });
    const expected = `日本語\n${many}\n`;
    const saved = await waitFor('Mousepad to save typed.txt', () => {
      for (const id of readdirSync(join(t.stateDir, 'sandboxes'))) {
        const text = readRunningHomeFile(t.stateDir, id, 'typed.txt')?.toString('utf8');
        if (text !== undefined && text.length >= expected.length - 1) return text;
      }
      return null;
    }, 30_000).catch(() => null);
    await page.screenshot({ path: join(artifacts, 'rfb-keyboard-mousepad.png') });
    expect(saved?.startsWith('日本語\n'), `saved: ${saved?.slice(0, 40)}`).toBe(true);
    const got = [...(saved ?? '').slice(4)].filter((c) => c !== '\n');
    const lost = [...many].filter((c) => !got.includes(c));
    expect(lost.length, `characters lost: ${lost.slice(0, 20).join('')}`).toBe(0);
    expect(saved).toBe(expected);
    const violations = await axeViolations(page);
    expect(violations).toEqual([]);
  }, 180_000);
});
