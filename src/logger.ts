import pino from 'pino';
import type { AppConfig } from './config.ts';

export type Logger = pino.Logger;

/** Structured JSON logs on standard output, one object a line, for the CLI and the server alike. */
export function createLogger(config: Pick<AppConfig, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    base: { service: 'greenspace' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: ['req.headers.cookie', 'req.headers.authorization', '*.password', '*.token'],
  });
}
