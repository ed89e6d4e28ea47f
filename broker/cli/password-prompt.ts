// Reads a password from a prompt (echo off) or, for scripts, from standard input.
import { stdin, stderr } from 'node:process';

export async function readPassword(prompt: string, fromStdin: boolean): Promise<string> {
  if (fromStdin || !stdin.isTTY) return firstLine();
  stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const onData = (data: Buffer) => {
      const text = data.toString('utf8');
      let at = 0;
      for (const char of text) {
        at += char.length;
        // What was typed after Enter in the same read is the app's (type-ahead), not lost.
        if (char === '\r' || char === '\n') return done(null, text.slice(char === '\r' && text[at] === '\n' ? at + 1 : at));
        if (char === '\u0003') return done(new Error('cancelled'), '');
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    const done = (error: Error | null, rest: string) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      if (rest) stdin.unshift(Buffer.from(rest, 'utf8'));
      stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    stdin.on('data', onData);
  });
}

/** The first line of stdin; whatever follows stays unread for the app. */
function firstLine(): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const newline = buffered.indexOf(0x0a);
      if (newline >= 0) finish(buffered.subarray(0, newline), buffered.subarray(newline + 1));
    };
    const onEnd = () => finish(buffered, Buffer.alloc(0));
    const finish = (line: Buffer, rest: Buffer) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', reject);
      stdin.pause();
      if (rest.length > 0) stdin.unshift(rest);
      resolve(line.toString('utf8').replace(/\r$/, ''));
    };
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', reject);
  });
}
