// The lockstep coverage suite's applications (issue 20): ordinary Debian apps, each
// with a scripted session of 15–40 inputs a person might give it. support/coverage.ts
// runs them; `npm run bench -- --only=coverage` runs all of them, test/coverage.test.ts
// the `light` ones (installed by scripts/bootstrap.sh, quick enough for CI).
//
// A step is what a person does, then a pause (PAUSE_MS unless it says). A script
// never depends on timing for its result: each input is given after the previous
// one's effect would show on a person's screen.

/** One input: text typed (terminal: the bytes a terminal sends; GUI: key presses), a key by keysym, a pointer move or a click. */
export type Step =
  | { type: string; pause?: number }
  | { keysym: number; ctrl?: boolean; pause?: number }
  | { move: [number, number]; pause?: number }
  | { click: [number, number]; pause?: number }
  | { pause: number };

export interface CoverageApp {
  id: string;
  name: string;
  command: string;
  args?: string[];
  env?: Record<string, string>;
  /** A graphical app (RFB display of `geometry`); otherwise a terminal of 100×30. */
  gui?: { geometry: string };
  /** Debian package that has it (for the report when it is missing). */
  package: string;
  /** In CI's light run. */
  light?: boolean;
  /** Files (under the app's home) the script makes it save: compared across the failover and with the reference run. */
  files: string[];
  steps: Step[];
  /**
   * What a reference run on another host, at another moment, shows differently by
   * design (the time, random numbers): masked before comparing with it. Never masked
   * when comparing a replica with the replica it replaced — there everything must match.
   * 'everything': a reference run cannot show the same (a clock's face).
   */
  varies?: RegExp | 'everything';
  /** Why lockstep cannot keep it (the demo catalog runs such apps with failover: restart). */
  cannot?: string;
  /**
   * It moves on its own (an animation): the screen after the takeover is later than the
   * one before the kill, so only the standby checks (no divergence) and the files say
   * whether it was kept.
   */
  animates?: boolean;
  /** A standby placed after the kill must join (the test asserts it): its timers fast-forward (docs/cluster.md). */
  catchesUp?: boolean;
  /**
   * A terminal app's prompt (what its cursor's line ends with when it takes the next
   * command): each step waits for it, at most PROMPT_WAIT_MS, as a person does. Without
   * it, a command slower than the pause (git's commit on a loaded host) takes the next
   * line as type-ahead in one run and not in the other, and the screens differ by timing.
   */
  prompt?: RegExp;
}

export const PAUSE_MS = 250;
const lines = (...texts: string[]): Step[] => texts.map((type) => ({ type }));
const each = (text: string, pause?: number): Step[] => [...text].map((type) => ({ type, ...(pause ? { pause } : {}) }));
const DIGITS = /\d+(\.\d+)?/g;
const HEX = /\b[0-9a-f]{6,40}\b/g;
const shell = { command: '/bin/bash', args: ['--norc', '--noprofile', '-i'], env: { PS1: '$ ' }, prompt: /\$ $/ };
/** The ESC key, and Ctrl+letter, as a terminal sends them. */
const ESC = '\x1b';
const ctrl = (letter: string) => String.fromCharCode(letter.toUpperCase().charCodeAt(0) - 64);

export const COVERAGE_APPS: CoverageApp[] = [
  {
    id: 'bash-clock',
    name: 'bash: date, $RANDOM, mktemp, a background loop',
    ...shell,
    package: 'bash',
    light: true,
    catchesUp: true,
    files: ['loop.txt', 'saved.txt'],
    varies: new RegExp(`${DIGITS.source}|tmp\\.\\w+`, 'g'),
    steps: [
      ...lines(
        'echo R $RANDOM $RANDOM\r',
        'date +%s.%N\r',
        '(for i in 1 2 3 4 5 6; do echo "$i $(date +%s%N) $RANDOM" >> loop.txt; sleep 0.4; done) &\r',
        'mktemp -u\r',
        'T=$(mktemp -d); echo made $T\r',
        'echo $RANDOM $(date +%N) > saved.txt\r',
        'cat saved.txt\r',
      ),
      // A person waits for the loop's end before typing on (typed ahead, their keys would race its "Done").
      { type: 'sleep 1; wait; echo loop done\r', pause: 3000 },
      ...lines(
        // A subshell's $RANDOM is seeded with its pid: started while the loop still forks, its pid would depend on timing (docs/cluster.md).
        'seq 3 | while read n; do echo n$n $RANDOM; done\r',
      'wc -l loop.txt\r',
      'tail -n 2 loop.txt\r',
      'echo $((RANDOM % 100)) >> saved.txt\r',
      'date -u +%FT%T\r',
      'ls | sort\r',
      'cat saved.txt\r',
      'echo end $SECONDS\r',
      ),
    ],
  },
  {
    id: 'python-random',
    name: 'python3: random, time, sets and dicts',
    command: '/usr/bin/python3',
    args: ['-q'],
    package: 'python3',
    light: true,
    files: ['p.txt'],
    varies: new RegExp(`${HEX.source}|${DIGITS.source}|'[a-z]+'(, '[a-z]+')*`, 'g'),
    steps: lines(
      'import random, time, os\r',
      'print(random.random(), random.randint(1, 10**9))\r',
      'print(time.time(), time.time_ns() > 0)\r',
      "print({'apple', 'banana', 'cherry', 'damson', 'elder'})\r",
      "print(list({str(i): i for i in range(6)}))\r",
      "f = open('p.txt', 'w'); f.write(str(random.random()) + ' ' + str(time.time()) + '\\n'); f.close()\r",
      'time.sleep(0.5); print(round(time.monotonic()) >= 0)\r',
      "print(hash('holdfast') % 1000)\r",
      'print(os.urandom(4).hex())\r',
      'print(random.choice(range(100)))\r',
      "print(open('p.txt').read())\r",
      "print(time.strftime('%H:%M:%S'))\r",
      "print(sorted(set('lockstep')))\r",
      "print(random.sample(range(50), 3))\r",
      "open('p.txt', 'a').write(str(random.random()) + '\\n')\r",
      "print(open('p.txt').read().count('\\n'))\r",
    ),
  },
  {
    id: 'vim',
    name: 'vim: edit, :w',
    command: '/usr/bin/vim',
    args: ['-N', '-u', 'NONE', 'notes.txt'],
    package: 'vim',
    light: true,
    files: ['notes.txt'],
    steps: [
      ...lines('i', 'first line of the notes\r', 'second line\r', 'third line, with more words\r', ESC, ':w\r'),
      ...lines('gg', 'dd', 'p', 'u', 'A appended', ESC, 'yyp', ':%s/line/LINE/g\r', ':w\r', 'G', 'o', 'last line', ESC, ':w\r'),
    ],
  },
  {
    id: 'nano',
    name: 'nano: edit, save',
    command: '/usr/bin/nano',
    args: ['notes.txt'],
    package: 'nano',
    files: ['notes.txt'],
    steps: [
      ...lines('one line\r', 'two lines\r', 'three lines of text\r', ctrl('o'), '\r'),
      ...lines(ctrl('k'), ctrl('u'), ctrl('u'), 'more\r', ctrl('w'), 'two\r', 'X', ctrl('o'), '\r', 'end\r', ctrl('o'), '\r', ctrl('g'), ctrl('x')),
    ],
  },
  {
    id: 'less',
    name: 'less: page, search',
    command: '/bin/sh',
    args: ['-c', 'seq 1 3000 | sed "s/^/line number /" > lines.txt; exec less lines.txt'],
    package: 'less',
    files: ['lines.txt'],
    // A search that finds nothing leaves its message until a key clears it; less must stay
    // open to the end, or there is no session left to count a standby for.
    steps: lines(' ', ' ', 'b', '/number 77\r', 'n', 'n', 'N', 'G', 'g', '50%', 'j', 'j', 'k', '/9999\r', '\r', 'h', 'q', 'F'),
  },
  {
    id: 'htop',
    name: 'htop',
    command: '/usr/bin/htop',
    package: 'htop',
    files: [],
    varies: DIGITS,
    cannot: 'shows CPU and memory figures the kernel measures for each host (/proc)',
    steps: lines('M', 'P', 'T', '\x1b[B', '\x1b[B', '\x1b[A', 'H', 'H', 't', 't', 'P', 'M', 'I', 'I', 'F', ' '),
  },
  {
    id: 'top',
    name: 'top',
    command: '/usr/bin/top',
    package: 'procps',
    files: [],
    varies: DIGITS,
    cannot: 'shows CPU and memory figures the kernel measures for each host (/proc)',
    steps: lines('M', 'P', 'c', 'c', 'i', 'i', 'm', 'm', 't', 't', '1', '1', 'x', 'x', 'z', 'z'),
  },
  {
    id: 'bc',
    name: 'bc',
    command: '/usr/bin/bc',
    args: ['-q', '-l'],
    package: 'bc',
    light: true,
    files: [],
    steps: lines('2^100\r', 'scale=30\r', '4*a(1)\r', 'sqrt(2)\r', 'x=7\r', 'x*x*x\r', 'for (i=1; i<6; i++) i*x\r', 'e(1)\r', 'l(10)\r', 'obase=16\r', '255\r', 'obase=10\r', '1/3\r', 'define f(n) { if (n<2) return 1; return n*f(n-1) }\r', 'f(25)\r'),
  },
  {
    id: 'sqlite3',
    name: 'sqlite3: random(), datetime(now)',
    command: '/usr/bin/sqlite3',
    args: ['data.db'],
    package: 'sqlite3',
    light: true,
    files: ['data.db'],
    varies: /\b[0-9A-F]{16}\b|-?\d+(\.\d+)?/g,
    steps: lines(
      'create table t(n integer, at text, r integer);\r',
      "insert into t values(1, datetime('now'), random());\r",
      "insert into t values(2, strftime('%f', 'now'), random());\r",
      'select * from t;\r',
      'select hex(randomblob(8));\r',
      "insert into t select n + 2, datetime('now'), random() from t;\r",
      'select count(*), sum(n) from t;\r',
      "create index t_n on t(n);\r",
      'select n, r % 1000 from t order by r;\r',
      "update t set at = julianday('now') where n = 1;\r",
      'select * from t where n = 1;\r',
      '.tables\r',
      'select abs(random()) % 6 + 1;\r',
      'delete from t where n = 4;\r',
      'select count(*) from t;\r',
    ),
  },
  {
    id: 'node-repl',
    name: "node's REPL: Math.random() into a file",
    command: '/usr/bin/node',
    args: ['--interactive'],
    env: { NODE_REPL_HISTORY: '' },
    package: 'nodejs',
    files: ['n.txt'],
    varies: new RegExp(`${HEX.source}|${DIGITS.source}`, 'g'),
    steps: lines(
      'const fs = require("fs")\r',
      'const r = Math.random()\r',
      'fs.writeFileSync("n.txt", String(r) + "\\n")\r',
      'Date.now() > 0\r',
      'new Date().getFullYear() > 2000\r',
      '[1, 2, 3].map((x) => x * r)\r',
      'fs.appendFileSync("n.txt", String(Math.random()) + "\\n")\r',
      'require("crypto").randomBytes(4).toString("hex")\r',
      'fs.readFileSync("n.txt", "utf8").split("\\n").length\r',
      'Object.keys({b: 1, a: 2, c: 3})\r',
      'performance.now() > 0\r',
      'fs.appendFileSync("n.txt", Date.now() + "\\n")\r',
      'fs.readFileSync("n.txt", "utf8")\r',
      'Math.floor(Math.random() * 6) + 1\r',
      '"done"\r',
    ),
  },
  {
    id: 'git',
    name: 'git: init, commit, log with dates',
    ...shell,
    env: { ...shell.env, GIT_AUTHOR_NAME: 'Ann', GIT_AUTHOR_EMAIL: 'ann@example.org', GIT_COMMITTER_NAME: 'Ann', GIT_COMMITTER_EMAIL: 'ann@example.org' },
    package: 'git',
    light: true,
    files: ['repo/a.txt', 'repo/.git/HEAD', 'repo/.git/refs/heads/main'],
    varies: new RegExp(`${HEX.source}|${DIGITS.source}|(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \\w+ `, 'g'),
    steps: lines(
      'git init -q -b main repo && cd repo\r',
      'echo one > a.txt\r',
      'git add a.txt && git commit -qm first\r',
      'git log --format="%h %ad %s"\r',
      'echo two >> a.txt\r',
      'git commit -qam second\r',
      'git log --format="%H %ct"\r',
      'git branch feature && git switch -q feature\r',
      'echo three >> a.txt && git commit -qam third\r',
      'git switch -q main && git merge -q --no-edit feature\r',
      'git log --oneline --graph\r',
      'git rev-parse HEAD\r',
      'git status --short\r',
      'git tag v1 && git describe --tags\r',
      'cat a.txt\r',
    ),
  },
  {
    id: 'perl',
    name: 'perl: hash order, rand, time',
    ...shell,
    package: 'perl',
    light: true,
    files: ['perl.txt'],
    varies: new RegExp(`[a-z](,[a-z0-9.]+)+|${DIGITS.source}`, 'g'),
    steps: lines(
      'perl -e \'my %h = map { $_ => 1 } qw(a b c d e f g); print join(",", keys %h), "\\n"\'\r',
      "perl -e 'print rand(), \" \", time(), \"\\n\"'\r",
      "perl -e 'srand(); print int(rand(1000)), \"\\n\"' > perl.txt\r",
      'cat perl.txt\r',
      "perl -MTime::HiRes=time -e 'printf \"%.6f\\n\", time'\r",
      "perl -e 'print scalar(localtime), \"\\n\"' >> perl.txt\r",
      "perl -e 'my @a = (1..10); print join(\" \", map { int(rand(10)) } @a), \"\\n\"'\r",
      'cat perl.txt\r',
      'perl -e \'my %h = (x => 1, y => 2, z => 3, w => 4); print join(",", %h), "\\n"\' >> perl.txt\r',
      'wc -l perl.txt\r',
      "perl -e 'print join(\",\", map { $_ * 2 } 1 .. 9), \"\\n\"'\r",
      'echo done\r',
      'tail -n 1 perl.txt\r',
      'ls\r',
      'echo end\r',
    ),
  },
  {
    id: 'mc',
    name: 'mc: make a directory and files, view one',
    command: '/usr/bin/mc',
    args: ['--nosubshell', '--nocolor'],
    package: 'mc',
    files: ['made/one.txt', 'made/two.txt'],
    // mc shows a hint chosen at random: a reference run on another host shows another.
    varies: new RegExp(`Hint: .*|${DIGITS.source}`, 'g'),
    steps: [
      { type: '\x1b[18~' }, // F7: make a directory
      ...lines('made\r', '\r'), // …and go into it
      // What is typed at the panels goes to mc's command line, run in the current directory.
      ...lines('echo one > one.txt\r', 'echo two > two.txt\r', '\x1b[B', '\x1b[A', '\t', '\x1b[B', '\t', '\x1b[B'),
      { type: '\x1bOR', pause: 800 }, // F3: view the file under the cursor…
      ...lines('q', '\x1b[A', '\x1b[B', '\x1b[A'), // …and back to the panels
    ],
  },
  {
    id: 'tetris',
    name: 'tetris-bsd (a curses game: its own timer, random pieces)',
    command: '/usr/games/tetris-bsd',
    package: 'bsdgames',
    catchesUp: true,
    files: [],
    varies: DIGITS,
    steps: [...each('jjkllkjjkl', 300), ...each(' j l k ', 300), ...each('jjkkllkj', 300)],
  },
  {
    id: 'ninvaders',
    name: 'nInvaders (a curses game: animation on its own timer)',
    command: '/usr/games/ninvaders',
    package: 'ninvaders',
    animates: true,
    catchesUp: true,
    files: [],
    // Where the aliens are when the script ends depends on when its keys came: no reference run shows the same.
    varies: 'everything',
    steps: [...each(' ', 500), ...each('hhhh  llll  hh  ll ', 200)],
  },
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
