import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { SessionNotice, noticeWords } from './SessionNotice.js';

describe('the session’s warning banner', () => {
  it('says what happens, why, and what keeps it from happening, with the time left as a clock', () => {
    expect(noticeWords('Python', 'idle', 299_001)).toBe('Python ends in 5:00 because it has been idle — press a key to keep it');
    expect(noticeWords('Python', 'idle', 4_000)).toBe('Python ends in 0:04 because it has been idle — press a key to keep it');
    expect(noticeWords('Shell', 'max-length', 3_600_000)).toBe('Shell ends in 1:00:00: it reaches its maximum length. Save your work.');
    expect(noticeWords('Shell', 'max-length', -50)).toBe('Shell ends in 0:00: it reaches its maximum length. Save your work.');
  });

  it('is announced once in the broker’s words, the ticking clock kept from screen readers; nothing without a warning', () => {
    const html = renderToStaticMarkup(createElement(SessionNotice, { name: 'Python', notice: { kind: 'idle', endsAt: Date.now() + 299_500, message: 'Python ends in 5 minutes because it has been idle — press a key to keep it.' } }));
    expect(html).toContain('role="alert"');
    expect(html).toContain('<span class="visually-hidden">Python ends in 5 minutes because it has been idle — press a key to keep it.</span>');
    expect(html).toContain('<span aria-hidden="true">Python ends in 5:00 because it has been idle — press a key to keep it</span>');
    expect(renderToStaticMarkup(createElement(SessionNotice, { name: 'Python', notice: null }))).toBe('');
  });
});
