// Structured logs with pino: one JSON object a line on stderr, so operators can grep
// and ship them. Every line carries the node; lines about a session carry `session`
// and, where known, `user`. Never logs passwords, tokens or terminal bytes.
import pino, { type Logger as Pino } from 'pino';
import { escapeControls } from './log-line.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LOG_LEVELS)[number];

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  /** Changes the level of this logger (a config reload); children made before keep theirs. */
  setLevel(level: Level): void;
}

/** HOLDFAST_LOG_LEVEL when set to a level, else `fallback`. */
export function levelFromEnv(fallback: Level): Level {
  const env = process.env.HOLDFAST_LOG_LEVEL;
  return (LOG_LEVELS as readonly string[]).includes(env ?? '') ? (env as Level) : fallback;
}

/**
 * A logger writing to `destination` (default: stderr, synchronously, so no line is lost
 * on exit), every line with its control characters escaped (log-line.ts): names come
 * from people.
 */
export function createLogger(base: Record<string, unknown> = {}, level: Level = levelFromEnv('info'), destination?: pino.DestinationStream): Logger {
  const out = destination ?? pino.destination({ dest: 2, sync: true });
  const root = pino(
    {
      level,
      base: { pid: process.pid, ...base },
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    { write: (line: string) => out.write(escapeControls(line)) },
  );
  return wrap(root);
}

function wrap(p: Pino): Logger {
  return {
    debug: (msg, fields) => p.debug(fields ?? {}, msg),
    info: (msg, fields) => p.info(fields ?? {}, msg),
    warn: (msg, fields) => p.warn(fields ?? {}, msg),
    error: (msg, fields) => p.error(fields ?? {}, msg),
    child: (fields) => wrap(p.child(fields)),
    setLevel: (level) => {
      p.level = level;
    },
  };
}

export const silentLogger: Logger = wrap(pino({ level: 'silent' }));
