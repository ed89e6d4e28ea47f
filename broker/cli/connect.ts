// `holdfast connect`: one app in the person's own terminal, through the same session
// core as the desktop and web clients. Raw mode in, bytes out, SIGWINCH → resize,
// and the app's exit code becomes ours. Output is acknowledged only once stdout has
// taken it, so a paused terminal holds the app back instead of filling memory.
import WebSocket from 'ws';
import { HoldfastClient, ProtocolError, type SocketFactory, type SocketLike } from '../../shared/core/index.js';

export interface ConnectOptions {
  broker: string;
  user: string;
  app: string;
  password: string;
}

export const nodeSocketFactory: SocketFactory = (url, protocols) =>
  new WebSocket(url, protocols, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 }) as unknown as SocketLike;

export async function connect(options: ConnectOptions): Promise<number> {
  const { stdin, stdout, stderr } = process;
  const client = new HoldfastClient({ brokerUrl: options.broker, socketFactory: nodeSocketFactory });
  try {
    await client.signIn(options.user, options.password);
    const size = () => ({ cols: stdout.columns || 80, rows: stdout.rows || 24 });
    const stream = await client.launch(options.app, size().cols, size().rows);
    stream.setConsumer((data, done) => {
      if (stdout.write(data)) done();
      else stdout.once('drain', done);
    });
    const onInput = (data: Buffer) => stream.sendInput(data);
    const onResize = () => stream.resize(size().cols, size().rows);
    const raw = stdin.isTTY;
    if (raw) stdin.setRawMode(true);
    stdin.on('data', onInput);
    stdin.resume();
    process.on('SIGWINCH', onResize);
    const exit = await new Promise<{ exitCode: number; message: string }>((resolve) => stream.onExit(resolve));
    stdin.off('data', onInput);
    process.off('SIGWINCH', onResize);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    await new Promise<void>((resolve) => stdout.write('', () => resolve()));
    if (exit.exitCode !== 0) stderr.write(`\r\nholdfast: ${exit.message}\r\n`);
    client.signOut();
    return exit.exitCode < 0 ? 1 : exit.exitCode;
  } catch (error) {
    client.signOut();
    const message = error instanceof ProtocolError || error instanceof Error ? error.message : String(error);
    stderr.write(`holdfast connect: ${message}\n`);
    return 1;
  }
}
