// The lockstep coverage suite's graphical apps (issue 20): X11 and GTK programs on
// their own Xvnc display, each with a scripted session of keys, moves and clicks.
import { each, lines, type CoverageApp, type Step } from './coverage-app.js';

export const GUI_APPS: CoverageApp[] = [
  {
    id: 'xterm',
    name: 'xterm',
    command: '/usr/bin/xterm',
    gui: { geometry: '640x480' },
    package: 'xterm',
    files: ['x.txt'],
    steps: [{ move: [320, 240] }, ...lines('echo hello from xterm\n', 'seq 1 20\n', 'echo saved > x.txt\n', 'cat x.txt\n', 'ls\n', 'printf "%s\\n" a b c\n', 'clear\n', 'echo after clear\n', 'seq 5 -1 1\n', 'echo done >> x.txt\n', 'wc -l x.txt\n', 'pwd\n', 'echo end\n', 'true\n')],
  },
  {
    id: 'xedit',
    name: 'xedit: type, save',
    command: '/usr/bin/xedit',
    args: ['notes.txt'],
    gui: { geometry: '640x480' },
    package: 'x11-apps',
    light: true,
    files: ['notes.txt'],
    steps: [{ move: [320, 300] }, ...lines('first line\n', 'second line\n', 'third line\n', 'fourth\n', 'fifth\n', 'sixth\n', 'seventh\n', 'eighth\n', 'ninth\n', 'tenth\n'), { move: [52, 8] }, { click: [52, 8] }, { move: [320, 300] }, ...lines('more\n', 'and more\n'), { move: [52, 8] }, { click: [52, 8] }],
  },
  {
    id: 'xcalc',
    name: 'xcalc: keys',
    command: '/usr/bin/xcalc',
    gui: { geometry: '640x480' },
    package: 'x11-apps',
    files: [],
    steps: [{ move: [320, 240] }, ...each('12+34='), ...each('*3='), ...each('/7='), ...each('99-1='), { move: [100, 100] }],
  },
  {
    id: 'xclock',
    name: 'xclock (analog: its own timer)',
    command: '/usr/bin/xclock',
    args: ['-update', '1'],
    gui: { geometry: '640x480' },
    package: 'x11-apps',
    // Its second hand moves on while the client resumes: the standbys' checks say whether it was kept.
    animates: true,
    catchesUp: true,
    files: [],
    varies: 'everything',
    steps: [...Array.from({ length: 16 }, (_, i): Step => ({ move: [40 * i, 30 * i], pause: 400 }))],
  },
  {
    id: 'xeyes',
    name: 'xeyes: the pointer moves',
    command: '/usr/bin/xeyes',
    gui: { geometry: '640x480' },
    package: 'x11-apps',
    files: [],
    steps: Array.from({ length: 20 }, (_, i): Step => ({ move: [(i * 97) % 640, (i * 61) % 480] })),
  },
  {
    id: 'mousepad',
    name: 'mousepad (GTK): type, save',
    command: '/usr/bin/mousepad',
    args: ['notes.txt'],
    env: { NO_AT_BRIDGE: '1', GTK_A11Y: 'none' },
    gui: { geometry: '640x480' },
    package: 'mousepad',
    files: ['notes.txt'],
    steps: [{ move: [320, 240] }, ...lines('first line\n', 'second line\n', 'third line\n', 'fourth line\n', 'fifth line\n', 'sixth line\n'), { keysym: 's'.charCodeAt(0), ctrl: true, pause: 800 }, ...lines('seventh\n', 'eighth\n', 'ninth\n'), { keysym: 's'.charCodeAt(0), ctrl: true, pause: 800 }],
  },
];
