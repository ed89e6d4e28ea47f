// `npm start`: the quick start. Installs what is missing, builds if needed, starts a
// broker node with the demo catalog, and opens the client: Electron where its binary
// exists, otherwise the web client in Chromium's app mode, otherwise it prints the URL.
// Ctrl-C stops everything it started.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
process.chdir(root);
const run = (cmd, args) => {
  const result = spawnSync(cmd, args, { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`npm start: "${cmd} ${args.join(' ')}" failed; see above.`);
    process.exit(1);
  }
};

// 1. Debian packages (sandbox, demo apps, Chromium) and npm packages.
run('bash', ['scripts/bootstrap.sh']);
if (!existsSync('node_modules/.package-lock.json')) run('npm', ['ci', '--no-audit', '--no-fund']);

// 2. Build when anything is newer than the last build.
const newest = (dir) => {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
};
const built = existsSync('dist/broker/cli.js') ? statSync('dist/broker/cli.js').mtimeMs : 0;
if (['shared', 'broker', 'renderer', 'main'].some((dir) => newest(dir) > built)) run(process.execPath, ['scripts/build.mjs']);

// 3. The node, on 8080 unless HOLDFAST_PORT says otherwise (0: any free port).
const port = process.env.HOLDFAST_PORT ?? '8080';
const node = spawn(process.execPath, ['bin/holdfast.mjs', 'node', '--demo', '--port', port], { stdio: ['ignore', 'pipe', 'inherit'] });
const children = [node];
const stop = () => {
  for (const child of children) child.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
node.on('exit', (code) => {
  stop();
  process.exit(code ?? 0);
});

let opened = false;
node.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const match = /listening on (http:\/\/\S+)/.exec(chunk.toString());
  if (match && !opened) {
    opened = true;
    openClient(match[1]);
  }
});

// 4. The client.
function openClient(url) {
  const electron = join(root, 'node_modules', 'electron', 'dist', 'electron');
  const hasDisplay = Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
  if (hasDisplay && existsSync(electron)) {
    console.log('Opening the desktop client (Electron)…');
    children.push(spawn(electron, ['.', `--broker=${url}`], { stdio: 'inherit' }));
    return;
  }
  const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(existsSync);
  if (hasDisplay && chromium) {
    console.log('Electron is not installed here; opening the web client in Chromium app mode…');
    const profile = mkdtempSync(join(tmpdir(), 'holdfast-chromium-'));
    const args = [`--app=${url}`, `--user-data-dir=${profile}`, '--no-first-run', '--disable-background-networking', '--disable-sync', '--disable-component-update'];
    if (process.getuid?.() === 0) args.push('--no-sandbox');
    children.push(spawn(chromium, args, { stdio: 'ignore' }));
    return;
  }
  console.log(`\nNo display to open a window on. Open ${url} in a browser, or run:\n  node bin/holdfast.mjs connect --broker ${url} --user demo --app python\n`);
}
