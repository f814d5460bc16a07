import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

/**
 * JSON logs on stdout. Never log tokens, passwords or message text: the
 * redact paths below are a safety net, not permission.
 */
export function createLogger(config: Pick<Config, 'logLevel' | 'nodeId'>): Logger {
  return pino({
    level: config.logLevel,
    base: { node: config.nodeId },
    redact: {
      paths: [
        'req.headers.authorization', 'req.headers.cookie', 'headers.authorization',
        'token', 'password', 'oldPassword', 'newPassword', 'text',
        '*.token', '*.password', '*.oldPassword', '*.newPassword', '*.text', '*.*.token', '*.*.password', '*.*.text',
      ],
      censor: '[redacted]',
    },
  });
}
