import { describe, expect, it } from 'vitest';
import { ClientMessage, ServerMessage, parseJsonFrame, requestIdOf } from './messages.js';

describe('JSON messages', () => {
  it('accepts a well-formed launch and rejects absurd terminal sizes', () => {
    expect(parseJsonFrame(ClientMessage, '{"type":"session.launch","id":1,"appId":"python","cols":80,"rows":24}').ok).toBe(true);
    const tooWide = parseJsonFrame(ClientMessage, '{"type":"session.launch","id":1,"appId":"python","cols":100000,"rows":24}');
    expect(tooWide).toMatchObject({ ok: false, error: expect.stringContaining('"cols"') });
  });

  it('takes a screen’s scale from 1 to 4 with a launch or a resume, and nothing else', () => {
    expect(parseJsonFrame(ClientMessage, '{"type":"session.launch","id":1,"appId":"xterm","cols":80,"rows":24,"scale":1.5}').ok).toBe(true);
    expect(parseJsonFrame(ClientMessage, '{"type":"session.resume","id":1,"sessionId":"s","resumeToken":"t","cols":80,"rows":24,"scale":2}').ok).toBe(true);
    for (const scale of ['0.5', '5', '"2"', 'null']) {
      expect(parseJsonFrame(ClientMessage, `{"type":"session.launch","id":1,"appId":"xterm","cols":80,"rows":24,"scale":${scale}}`), scale).toMatchObject({ ok: false, error: expect.stringContaining('"scale"') });
    }
  });

  it('says why a frame is refused', () => {
    expect(parseJsonFrame(ClientMessage, 'not json')).toEqual({ ok: false, error: 'frame is not valid JSON' });
    expect(parseJsonFrame(ClientMessage, '{"type":"nope","id":1}')).toMatchObject({ ok: false });
    expect(parseJsonFrame(ClientMessage, '[]')).toMatchObject({ ok: false });
  });

  it('recovers the request id from an invalid request so the error can name it', () => {
    expect(requestIdOf('{"type":"apps.list","id":12,"extra":[')).toBeNull();
    expect(requestIdOf('{"type":"bogus","id":12}')).toBe(12);
    expect(requestIdOf('{"id":-1}')).toBeNull();
  });

  it('parses what the server sends', () => {
    const exited = '{"type":"session.exited","sessionId":"s","exitCode":0,"signal":null,"message":"Python exited."}';
    expect(parseJsonFrame(ServerMessage, exited).ok).toBe(true);
  });
});
