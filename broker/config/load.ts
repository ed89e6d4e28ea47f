// Reads and validates a node config file. A bad file stops the node with a message
// that names the file, the line and what was expected — never a stack trace.
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { NodeConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function loadConfigFile(file: string): NodeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${file}: cannot read the config file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  return parseConfig(text, file);
}

export function parseConfig(text: string, file: string): NodeConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const error = doc.errors[0]!;
    const { line, col } = lineCounter.linePos(error.pos[0]);
    throw new ConfigError(`${file}:${line}:${col}: this is not valid YAML: ${error.message.split('\n')[0]}`);
  }
  const parsed = NodeConfig.safeParse(doc.toJS() ?? {});
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.slice(0, 5).map((issue) => {
    // Point at the deepest part of the path that exists in the file.
    let at = 1;
    for (let depth = issue.path.length; depth >= 0; depth -= 1) {
      const node = doc.getIn(issue.path.slice(0, depth) as Array<string | number>, true);
      if (isNode(node) && node.range) {
        at = lineCounter.linePos(node.range[0]).line;
        break;
      }
    }
    const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    return `${file}:${at}: ${where}: ${describe(issue)}`;
  });
  const more = parsed.error.issues.length > 5 ? `\n…and ${parsed.error.issues.length - 5} more` : '';
  throw new ConfigError(lines.join('\n') + more);
}

function describe(issue: { code: string; message: string; keys?: string[] }): string {
  if (issue.code === 'unrecognized_keys' && issue.keys) return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return issue.message;
}
