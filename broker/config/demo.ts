// The built-in demo: three users and six apps from Debian packages, so `npm start`
// shows a real catalog with no config file. Passwords are hashed at start.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../auth/password.js';
import { NodeConfig } from './schema.js';

export const DEMO_USERS = { demo: 'demo', guest: 'guest', admin: 'admin' } as const;

/**
 * XTerm prints its window's text (Ctrl+Shift+P, or Print Window in its Ctrl+click menu)
 * through `lpr`: the sandbox's own, which hands the job to Holdfast (docs/operations.md, "Printing").
 */
/**
 * xedit looks for a ctags file when it opens a file and, finding none in a home, tells
 * the person to "Run ctags -R" — a developer's note, and one that comes a moment after
 * the window (it changed the screen under the first keystrokes). Off in the demo.
 */
export const XEDIT_QUIET_ARGS = ['-xrm', 'xedit*loadTags: false'];

export const XTERM_PRINT_ARGS = ['-xrm', 'XTerm*printerCommand: lpr -T XTerm', '-xrm', 'XTerm*printAttributes: 0', '-xrm', 'XTerm*VT100.translations: #override Ctrl Shift <Key>P: print()'];

/**
 * Mousepad, a GTK editor: its print dialog (Ctrl+P) lists the session's printer, chosen
 * already (broker/host/print-ipp.ts). No accessibility bus in a sandbox: GTK is told so
 * rather than left to look for one.
 */
/**
 * Sound check: plays a chord (A major, a second) through the session's own sound server
 * each time Enter is pressed — turn the tab's Sound on to hear it — and with "r", records
 * three seconds of the microphone and plays them back (issue 25). The recording is cut
 * by its size, not a timer: under lockstep an app's clock moves with its input.
 */
export const SOUND_CHECK = {
  id: 'sound-check',
  name: 'Sound check',
  description: 'Plays a chord, records your microphone and plays it back',
  icon: 'terminal',
  command: '/bin/bash',
  args: [
    '-c',
    [
      'python3 -c "import math,struct,sys; sys.stdout.buffer.write(b\'\'.join(struct.pack(\'<hh\', v, v) for v in (int(3000*sum(math.sin(2*math.pi*f*i/48000) for f in (440, 554.37, 659.25)) * min(1, (48000-i)/4800)) for i in range(48000))))" > "$HOME/.chord.raw"',
      'echo "Press Enter to play a chord (turn on Sound in the tab to hear it)."',
      'echo "Type r and Enter to record 3 seconds of your microphone (turn on Microphone) and hear them back. Ctrl-D ends."',
      'while read -r line; do',
      '  if [ "$line" = r ]; then',
      '    echo "● Recording 3 seconds…"; parecord --raw --format=s16le --rate=48000 --channels=1 | head -c 288000 > "$HOME/.memo.raw"',
      '    echo "▶ Playing it back"; paplay --raw --format=s16le --rate=48000 --channels=1 "$HOME/.memo.raw"',
      '  else paplay --raw --format=s16le --rate=48000 --channels=2 "$HOME/.chord.raw" && echo "♪ A major"; fi',
      'done',
    ].join('\n'),
  ],
  sound: true,
} as const;

export const MOUSEPAD = { id: 'mousepad', name: 'Mousepad', description: 'A text editor that prints (GTK)', icon: 'editor', display: 'rfb', geometry: '1024x700', command: '/usr/bin/mousepad', env: { NO_AT_BRIDGE: '1', GTK_A11Y: 'none' } } as const;

export interface DemoOverrides {
  host?: string;
  port?: number;
  stateDir?: string;
  /** Join a cluster: etcd client URLs, this node's name and the shared token key file. */
  etcd?: string[];
  name?: string;
  tokenKeyFile?: string;
}

export async function demoConfig(overrides: DemoOverrides = {}): Promise<NodeConfig> {
  const cheap = { N: 2 ** 14, r: 8, p: 1 };
  return NodeConfig.parse({
    node: {
      name: overrides.name ?? 'demo',
      ...(overrides.tokenKeyFile ? { tokenKeyFile: overrides.tokenKeyFile } : {}),
      listen: { host: overrides.host ?? '127.0.0.1', port: overrides.port ?? 8080 },
      stateDir: overrides.stateDir ?? join(tmpdir(), `holdfast-demo-${process.pid}`),
    },
    ...(overrides.etcd ? { cluster: { controlPlane: { kind: 'etcd', endpoints: overrides.etcd } } } : {}),
    users: [
      { name: 'demo', displayName: 'Demo User', passwordHash: await hashPassword(DEMO_USERS.demo, cheap), groups: ['staff'] },
      { name: 'guest', displayName: 'Guest', passwordHash: await hashPassword(DEMO_USERS.guest, cheap), groups: ['guests'] },
      // Sees the cluster's status (holdfast status); launches nothing.
      { name: 'admin', displayName: 'Administrator', passwordHash: await hashPassword(DEMO_USERS.admin, cheap), groups: ['admins'] },
    ],
    apps: [
      { id: 'shell', name: 'Shell', description: 'A bash shell in a private home', icon: 'terminal', command: '/bin/bash', args: ['-l'] },
      { id: 'python', name: 'Python', description: 'The Python 3 interactive interpreter', icon: 'python', command: '/usr/bin/python3', args: ['-q'] },
      // htop shows CPU and memory figures the kernel measures on each host (/proc), which
      // lockstep cannot make equal (docs/cluster.md, "What lockstep cannot keep"). It restarts instead.
      { id: 'htop', name: 'htop', description: 'Processes in your sandbox, full screen', icon: 'monitor', command: '/usr/bin/htop', failover: 'restart' },
      // Graphical apps: each on its own Xvnc display, streamed to noVNC.
      { id: 'xterm', name: 'XTerm', description: 'The X terminal emulator, in a window', icon: 'window', display: 'rfb', geometry: '1024x700', command: '/usr/bin/xterm', args: ['-fa', 'DejaVu Sans Mono', '-fs', '12', ...XTERM_PRINT_ARGS] },
      { id: 'editor', name: 'Text editor', description: 'xedit, editing notes.txt in your home', icon: 'editor', display: 'rfb', geometry: '1024x700', command: '/usr/bin/xedit', args: [...XEDIT_QUIET_ARGS, 'notes.txt'] },
      MOUSEPAD,
      SOUND_CHECK,
    ],
    entitlements: [
      { groups: ['staff'], apps: ['shell', 'python', 'htop', 'xterm', 'editor', 'mousepad', 'sound-check'] },
      { groups: ['guests'], apps: ['python'] },
    ],
    // The one demo app that asks for the microphone may hear it (it is off unless a policy says so).
    sessionPolicies: [{ apps: ['sound-check'], microphone: 'on' }],
  });
}
