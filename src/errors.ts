/**
 * The one catalogue of error codes, shared by the WebSocket protocol and the
 * HTTP API. Codes are stable: clients branch on them, so never rename one.
 * `status` is the HTTP status used when the error reaches an HTTP client.
 */
export const ERROR_CODES = {
  bad_request: { status: 400, retryable: false, summary: 'The frame or request is malformed or fails validation.' },
  unauthorized: { status: 401, retryable: false, summary: 'Not logged in, or the token is unknown, expired or revoked.' },
  forbidden: { status: 403, retryable: false, summary: 'Logged in, but not allowed to do this.' },
  not_found: { status: 404, retryable: false, summary: 'No such user, conversation or resource, or it is not visible to you.' },
  conflict: { status: 409, retryable: false, summary: 'The request conflicts with the current state (for example logging in twice on one connection).' },
  too_large: { status: 413, retryable: false, summary: 'A frame, body or message text is over its configured limit.' },
  rate_limited: { status: 429, retryable: true, summary: 'Too many requests or connections; retry after `retryAfterMs`.' },
  unavailable: { status: 503, retryable: true, summary: 'The storage cannot be reached right now, or the node is too busy (decoding pictures); nothing was changed. Retry (sends with the same clientId).' },
  internal: { status: 500, retryable: true, summary: 'An unexpected server error; it has been logged.' },
  unsupported_media: { status: 415, retryable: false, summary: 'The upload is not a picture in a supported format (JPEG, PNG, WebP, GIF or AVIF, decided from its content); SVG is refused.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The only error type the service throws on purpose. Edges translate it to a frame or an HTTP body. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, retryAfterMs?: number) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  retryAfterMs?: number;
}

/** Turns anything thrown into a public error body; unknown errors become `internal` without leaking details. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof AppError) {
    const body: ErrorBody = { code: err.code, message: err.message };
    if (err.retryAfterMs !== undefined) body.retryAfterMs = err.retryAfterMs;
    return body;
  }
  return { code: 'internal', message: 'internal server error' };
}
