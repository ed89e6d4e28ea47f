import { describe, expect, it } from 'vitest';
import { ExitMarkerFilter } from './exit-marker.js';

const marker = (nonce: string, status: number) => `\x1b]7777;${nonce};${status}\x07`;

describe('exit marker filter', () => {
  it('passes ordinary output through untouched, without copying', () => {
    const filter = new ExitMarkerFilter('n1');
    const chunk = Buffer.from('hello \x1b[1mworld\x1b[0m');
    expect(filter.push(chunk).output).toBe(chunk);
  });

  it('strips the marker and reports the status, dropping anything after it', () => {
    const filter = new ExitMarkerFilter('n1');
    const { output, status } = filter.push(Buffer.from(`last line\r\n${marker('n1', 7)}junk`));
    expect(output.toString()).toBe('last line\r\n');
    expect(status).toBe(7);
    expect(filter.push(Buffer.from('more')).output.length).toBe(0);
  });

  it('finds a marker split across chunks at any point', () => {
    const text = `abc${marker('nonce', 0)}`;
    for (let cut = 1; cut < text.length; cut += 1) {
      const filter = new ExitMarkerFilter('nonce');
      const first = filter.push(Buffer.from(text.slice(0, cut)));
      const second = filter.push(Buffer.from(text.slice(cut)));
      expect(first.output.toString() + second.output.toString()).toBe('abc');
      expect(second.status ?? first.status).toBe(0);
    }
  });

  it("ignores a marker with someone else's nonce, and gives back a held tail that was not one", () => {
    const filter = new ExitMarkerFilter('mine');
    expect(filter.push(Buffer.from(marker('theirs', 1))).output.toString()).toBe(marker('theirs', 1));
    const held = filter.push(Buffer.from('text\x1b]77'));
    expect(held.output.toString()).toBe('text');
    expect(filter.pending()).toBe(4);
    expect(filter.flush().toString()).toBe('\x1b]77');
  });
});
