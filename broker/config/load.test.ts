import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './load.js';

const user = 'scrypt$16384$8$1$c2FsdA==$aGFzaA==';

describe('config loading', () => {
  it('fills defaults for a minimal file', () => {
    const config = parseConfig('apps: []\n', 'node.yaml');
    expect(config.node.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.node.heartbeatMs).toBe(3000);
  });

  it('names the file, the line and what was expected', () => {
    const text = `node:\n  name: a\nusers:\n  - name: ann\n    passwordHash: ${user}\napps:\n  - id: editor\n    name: Editor\n    command: 42\n`;
    expect(() => parseConfig(text, 'node.yaml')).toThrowError(/^node\.yaml:9: apps\.0\.command: .*string/);
  });

  it('reports unknown keys and dangling references where they are written', () => {
    const text = `node:\n  colour: blue\nentitlements:\n  - users: [bob]\n    apps: [shell]\n`;
    let message = '';
    try {
      parseConfig(text, 'n.yaml');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message).toContain('n.yaml:2: node: unknown key "colour"');
    expect(message).toContain('n.yaml:5: entitlements.0.apps.0: app "shell" is not in the catalog');
    expect(message).toContain('n.yaml:4: entitlements.0.users.0: user "bob" is not defined');
  });

  it('takes node.tls with absolute paths, and an advertised URL whose scheme matches it', () => {
    const tls = `node:\n  tls:\n    certFile: /etc/holdfast/node.crt\n    keyFile: /etc/holdfast/node.key\n`;
    expect(parseConfig(tls, 'n.yaml').node.tls).toEqual({ certFile: '/etc/holdfast/node.crt', keyFile: '/etc/holdfast/node.key' });
    expect(() => parseConfig(`node:\n  tls:\n    certFile: node.crt\n    keyFile: /k\n`, 'n.yaml')).toThrowError(/^n\.yaml:3: node\.tls\.certFile: an absolute path/);
    expect(() => parseConfig(`${tls}cluster:\n  advertiseUrl: http://10.0.0.5:8443\n`, 'n.yaml')).toThrowError(/n\.yaml:6: cluster\.advertiseUrl: this node serves TLS \(node\.tls\): advertise an https:\/\/ URL/);
    expect(() => parseConfig(`cluster:\n  advertiseUrl: https://10.0.0.5:8443\n`, 'n.yaml')).toThrowError(/cluster\.advertiseUrl: an https:\/\/ URL needs node\.tls/);
  });

  it('reports YAML syntax errors with line and column', () => {
    expect(() => parseConfig('apps:\n  - id: [unclosed\n', 'bad.yaml')).toThrowError(/^bad\.yaml:\d+:\d+: this is not valid YAML/);
  });
});

describe('the example config', () => {
  it('is valid', async () => {
    const { loadConfigFile } = await import('./load.js');
    const config = loadConfigFile(new URL('../../examples/node.yaml', import.meta.url).pathname);
    expect(config.apps.map((app) => app.id)).toEqual(['shell', 'python', 'editor', 'pip']);
    expect(config.sandboxProfiles.networked?.network).toBe(true);
  });
});
