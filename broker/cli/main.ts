// `holdfast`: the one command for operators and terminal users.
//   holdfast node --config FILE | --demo [--host H] [--port N]
//   holdfast user hash [--password-stdin]
//   holdfast connect --broker URL --user NAME --app ID [--password-stdin]
//   holdfast cp [--broker URL --user NAME] (--app ID | --session ID) SRC DST
//   holdfast status --broker URL [--user NAME] [--json]
//   holdfast node drain|undrain NAME --broker URL [--user NAME]
//   holdfast recording list|export ID --broker URL [--user NAME]
//   holdfast cluster --nodes N [--base-port P]
//   holdfast cert dev [--out DIR] [--name HOST]…
import { parseArgs } from 'node:util';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashPassword } from '../auth/password.js';
import { demoConfig, DEMO_USERS } from '../config/demo.js';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { BrokerNode } from '../node.js';
import { tuneHeap } from '../heap.js';
import { readPassword } from './password-prompt.js';
import { connect } from './connect.js';
import { runCopy } from './copy.js';
import { runDrain, runResetSecondFactor, runRevoke, runStatus } from './status.js';
import { runCluster } from './cluster.js';
import { runRecording } from './recording.js';
import { runCertDev } from './cert.js';
import { TRUST_OPTIONS, TRUST_USAGE, trustFrom } from './trust-options.js';
import type { Trust } from '../tls/trust.js';

const USAGE = `Usage:
  holdfast node --config FILE           start a broker node
  holdfast node --demo [--port N]       start a node with the demo catalog
      [--etcd URL[,URL…] --name NAME --token-key FILE [--state-dir DIR]]
                                        …as a member of a cluster on etcd
  holdfast cluster --nodes 3 [--base-port 8081]
                                        etcd and 3 demo nodes on loopback, to try
                                        failover on one machine (Ctrl-C stops all)
  holdfast status --broker URL [--user NAME] [--json]
                                        nodes, sessions and replicas of a cluster
                                        (as a member of the "admins" group)
  holdfast node drain NAME --broker URL [--user NAME] [--no-wait]
                                        stop placing sessions on NAME and move its
                                        sessions to their standbys; then it can stop
  holdfast node undrain NAME --broker URL [--user NAME]
                                        let NAME take sessions again
  holdfast recording list --broker URL [--user NAME] [--json]
                                        recorded sessions, cluster-wide (person, app,
                                        node, start, length, size, complete)
  holdfast recording export ID --broker URL [--user NAME] [--out FILE]
                                        a session's recording, as an asciicast v2 file
  kill -HUP <node pid>                  reload the node's config (catalog, users,
                                        entitlements, log level); a bad file is refused
  holdfast user hash [--password-stdin] print a password hash for a config file
  holdfast user revoke NAME --broker URL [--user NAME]
                                        end NAME's sign-ins everywhere (tokens and
                                        connections); their sessions wait for them
  holdfast user reset-totp NAME --broker URL [--user NAME]
                                        turn NAME's two-step sign-in off (a lost phone
                                        and lost recovery codes); they set it up again
  holdfast connect --broker URL --user NAME --app ID [--password-stdin]
                                        run an app in this terminal
  holdfast connect --broker URL --user NAME --attach [--app ID | --session ID]
                                        carry on in a running session (the newest,
                                        or of that app, or that one) in this terminal
  holdfast connect --join LINK --user NAME [--broker URL]
                                        watch a terminal session someone shared (the
                                        broker is the link's own if it is a URL);
                                        Ctrl-] leaves
  holdfast cp [--broker URL --user NAME] (--app ID | --session ID) SRC DST
                                        copy a file out of a running session's home
                                        (SRC :REMOTE, DST LOCAL or "-") or into it
                                        (SRC LOCAL or "-", DST :REMOTE); resumes after a
                                        dropped connection. holdfast cp --help: more
  holdfast cert dev [--out DIR] [--name HOST]… [--days N] [--force]
                                        a self-signed certificate and key for node.tls
                                        (a lab or a laptop); prints the pin clients trust

Commands that take --broker also take ${TRUST_USAGE}: trust a broker whose
certificate this system does not (a company CA file, or the pin of its key).
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'node':
      if (rest[0] === 'drain' || rest[0] === 'undrain') return runDrain(rest[0], rest.slice(1));
      return runNode(rest);
    case 'user':
      if (rest[0] === 'hash') return userHash(rest.slice(1));
      if (rest[0] === 'revoke') return runRevoke(rest.slice(1));
      if (rest[0] === 'reset-totp') return runResetSecondFactor(rest.slice(1));
      break;
    case 'connect':
      return runConnect(rest);
    case 'cp':
      return runCopy(rest);
    case 'status':
      return runStatus(rest);
    case 'recording':
      return runRecording(rest);
    case 'cluster':
      return runCluster(rest);
    case 'cert':
      if (rest[0] === 'dev') return runCertDev(rest.slice(1));
      break;
    case '--help':
    case '-h':
    case undefined:
      process.stdout.write(USAGE);
      return command ? 0 : 2;
  }
  process.stderr.write(`holdfast: unknown command "${argv.join(' ')}"\n\n${USAGE}`);
  return 2;
}

async function runNode(args: string[]): Promise<number> {
  tuneHeap();
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      demo: { type: 'boolean' },
      port: { type: 'string' },
      host: { type: 'string' },
      etcd: { type: 'string' },
      name: { type: 'string' },
      'token-key': { type: 'string' },
      'state-dir': { type: 'string' },
    },
  });
  if (values.etcd && !values.demo) {
    process.stderr.write('holdfast node: --etcd goes with --demo; with --config, set cluster.controlPlane in the file\n');
    return 2;
  }
  if (!values.config && !values.demo) {
    process.stderr.write('holdfast node: give --config FILE, or --demo for the demo catalog\n');
    return 2;
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    process.stderr.write(`holdfast node: --port must be a number from 0 to 65535, not "${values.port}"\n`);
    return 2;
  }
  let config;
  try {
    config = values.demo
      ? await demoConfig({
          port,
          host: values.host,
          name: values.name,
          etcd: values.etcd?.split(',').map((u) => u.trim()),
          tokenKeyFile: values['token-key'],
          stateDir: values['state-dir'],
        })
      : loadConfigFile(values.config!);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`holdfast node: the config is not valid; the node did not start.\n${error.message}\n`);
      return 1;
    }
    throw error;
  }
  if (port !== undefined) config.node.listen.port = port;
  if (values.host !== undefined) config.node.listen.host = values.host;
  const webRoot = join(dirname(fileURLToPath(import.meta.url)), '..', 'renderer');
  let node: BrokerNode;
  try {
    node = new BrokerNode({ config, webRoot, ...(values.demo || !values.config ? {} : { configFile: resolve(values.config) }) });
  } catch (error) {
    // Files the config names (the TLS certificate and key, the token key) that cannot be used.
    process.stderr.write(`holdfast node: ${error instanceof Error ? error.message : String(error)}; the node did not start.\n`);
    return 1;
  }
  let url: string;
  try {
    url = await node.start();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const { host, port: p } = config.node.listen;
    process.stderr.write(
      code === 'EADDRINUSE'
        ? `holdfast node: ${host}:${p} is already in use; stop what listens there or pass --port\n`
        : `holdfast node: cannot start on ${host}:${p}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  }
  process.stdout.write(`Holdfast node "${config.node.name}" listening on ${url}\n`);
  if (values.demo) process.stdout.write(`Demo users: demo / ${DEMO_USERS.demo} (all apps), guest / ${DEMO_USERS.guest} (python only), admin / ${DEMO_USERS.admin} (holdfast status)\n`);
  // SIGHUP reloads the config file: validated first, and a bad one changes nothing.
  const reload = () => {
    if (!values.config) return node.reloadRefused('a --demo node has no config file to reload');
    try {
      const { needsRestart } = node.reload(loadConfigFile(values.config));
      if (needsRestart.length > 0) process.stderr.write(`holdfast node: reloaded; these changes take effect on a restart: ${needsRestart.join(', ')}\n`);
    } catch (error) {
      node.reloadRefused(error instanceof Error ? error.message : String(error));
    }
  };
  process.on('SIGHUP', reload);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.off('SIGHUP', reload);
  await node.stop();
  return 0;
}

async function userHash(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { 'password-stdin': { type: 'boolean' } } });
  const password = await readPassword('New password: ', values['password-stdin'] ?? false);
  if (!password) {
    process.stderr.write('holdfast user hash: the password is empty\n');
    return 1;
  }
  process.stdout.write((await hashPassword(password)) + '\n');
  return 0;
}

async function runConnect(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      broker: { type: 'string' },
      user: { type: 'string' },
      app: { type: 'string' },
      attach: { type: 'boolean' },
      session: { type: 'string' },
      join: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      ...TRUST_OPTIONS,
    },
  });
  // A share link given as the web client's URL names its broker.
  const linkBroker = values.join && /^https?:\/\//.test(values.join) ? new URL(values.join).origin : undefined;
  values.broker ??= linkBroker;
  const missing = (values.attach || values.join ? (['broker', 'user'] as const) : (['broker', 'user', 'app'] as const)).filter((key) => !values[key]);
  if (missing.length > 0) {
    process.stderr.write(`holdfast connect: missing ${missing.map((m) => `--${m}`).join(', ')}\n`);
    return 2;
  }
  let trust: Trust;
  try {
    trust = trustFrom(values);
  } catch (error) {
    process.stderr.write(`holdfast connect: ${(error as Error).message}\n`);
    return 2;
  }
  const password = await readPassword(`Password for ${values.user}: `, values['password-stdin'] ?? false);
  return connect({
    trust,
    broker: values.broker!,
    user: values.user!,
    app: values.app ?? null,
    password,
    attach: values.attach ?? false,
    sessionId: values.session ?? null,
    join: values.join ?? null,
  });
}
