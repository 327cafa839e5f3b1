import { pino, type Logger } from 'pino';

/** The process logger: JSON lines on stdout; credentials never reach a log line. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'berth' },
    redact: ['req.headers.authorization', 'headers.authorization', '*.password', '*.secret'],
  });
}
