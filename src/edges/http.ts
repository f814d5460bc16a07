import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERROR_CODES, toErrorBody, type ErrorCode } from '../errors.js';
import {
  ClientFrames, ConversationId, ConversationResult, ConversationsResult, ErrorBody, GroupTitle, HistoryResult, Limit,
  PresenceResult, PROTOCOL_VERSION, SendParams, SendResult, Seq, ServerFrames, SyncResult, SyncToken, Username,
} from '../protocol/schemas.js';
import type { Session } from '../service/chat.js';
import { registerAccountRoutes } from './http-accounts.js';
import type { Services } from './ws-handlers.js';

declare module 'fastify' {
  interface FastifyRequest {
    session: Session | undefined;
  }
}

const errorResponse = Type.Object({ error: ErrorBody });
export const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, errorResponse]));
export const bearer = [{ bearer: [] as string[] }];

function sendError(reply: FastifyReply, code: ErrorCode, message: string, retryAfterMs?: number): FastifyReply {
  if (retryAfterMs !== undefined) reply.header('retry-after', Math.ceil(retryAfterMs / 1000));
  const error: Record<string, unknown> = { code, message };
  if (retryAfterMs !== undefined) error.retryAfterMs = retryAfterMs;
  return reply.status(ERROR_CODES[code].status).send({ error });
}

/** The session of the request's `Authorization: Bearer <token>`; unauthorized without a valid one. Routes call it in onRequest, before the body is read. */
export async function bearerSession(services: Services, req: FastifyRequest): Promise<Session> {
  const h = req.headers.authorization;
  if (!h || !h.startsWith('Bearer ')) throw new AppError('unauthorized', 'missing "Authorization: Bearer <token>" header');
  return services.accounts.authenticate(h.slice(7).trim());
}

/** Maps everything thrown in a route to the shared error catalogue. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: Error & { validation?: unknown; statusCode?: number; code?: string }, req, reply) => {
    if (err instanceof AppError) return sendError(reply, err.code, err.message, err.retryAfterMs);
    if (err.validation) return sendError(reply, 'bad_request', err.message);
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, 'too_large', 'request body is over the limit');
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(reply, err.statusCode === 413 ? 'too_large' : 'bad_request', err.message);
    }
    req.log.error({ err }, 'request failed');
    const body = toErrorBody(err);
    return sendError(reply, body.code, body.message);
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`));
}

/** The HTTP API under /v1, plus health, readiness and the API documents. */
export function registerRoutes(app: FastifyInstance, services: Services, isReady: () => Promise<boolean>): void {
  const service = services.chat;
  const authenticate = async (req: FastifyRequest) => {
    req.session = await bearerSession(services, req);
  };
  const session = (req: FastifyRequest) => req.session as Session;

  app.decorateRequest('session', undefined);

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    if (await isReady()) return { status: 'ready' };
    return reply.status(503).send({ status: 'not ready' });
  });

  registerAccountRoutes(app, services, authenticate);

  app.post('/v1/messages', {
    onRequest: authenticate,
    schema: {
      summary: 'Send a text message to a user or into a conversation (idempotent by clientId)',
      security: bearer,
      body: SendParams,
      response: { 200: SendResult, ...errors(400, 401, 404, 413, 429, 503) },
    },
  }, async (req) => service.send(session(req), req.body as SendParams));

  app.get('/v1/sync', {
    onRequest: authenticate,
    schema: {
      summary: 'Everything missed since a sync token, one page at a time',
      security: bearer,
      querystring: Type.Object({ token: Type.Optional(SyncToken), limit: Type.Optional(Limit) }),
      response: { 200: SyncResult, ...errors(400, 401) },
    },
  }, async (req) => {
    const q = req.query as { token?: string; limit?: number };
    return service.sync(session(req), q.token, q.limit);
  });

  app.get('/v1/conversations', {
    onRequest: authenticate,
    schema: {
      summary: 'The home screen: your conversations, most recently changed first (with `since`: only those changed after that sync token)',
      security: bearer,
      querystring: Type.Object({ since: Type.Optional(SyncToken), before: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })), limit: Type.Optional(Limit) }),
      response: { 200: ConversationsResult, ...errors(400, 401) },
    },
  }, async (req) => service.conversations(session(req), req.query as { since?: string; before?: string; limit?: number }));

  const convParams = Type.Object({ id: ConversationId });
  const convId = (req: FastifyRequest) => (req.params as { id: string }).id;
  const groupErrors = errors(400, 401, 403, 404, 413);

  app.post('/v1/groups', {
    onRequest: authenticate,
    schema: {
      summary: 'Create a group with you as admin',
      security: bearer,
      body: Type.Object({ title: GroupTitle, members: Type.Array(Username, { maxItems: 1000, uniqueItems: true }) }, { additionalProperties: false }),
      response: { 200: ConversationResult, ...groupErrors },
    },
  }, async (req) => {
    const b = req.body as { title: string; members: string[] };
    return service.createGroup(session(req), b.title, b.members);
  });

  app.post('/v1/conversations/:id/members', {
    onRequest: authenticate,
    schema: {
      summary: 'Add members to a group (admins)',
      security: bearer,
      params: convParams,
      body: Type.Object({ users: Type.Array(Username, { minItems: 1, maxItems: 1000, uniqueItems: true }) }, { additionalProperties: false }),
      response: { 200: ConversationResult, ...groupErrors },
    },
  }, async (req) => service.changeGroup(session(req), convId(req), { op: 'add', users: (req.body as { users: string[] }).users }));

  app.delete('/v1/conversations/:id/members/:user', {
    onRequest: authenticate,
    schema: {
      summary: 'Remove a member from a group (admins)',
      security: bearer,
      params: Type.Object({ id: ConversationId, user: Username }),
      response: { 200: ConversationResult, ...groupErrors },
    },
  }, async (req) => service.changeGroup(session(req), convId(req), { op: 'remove', user: (req.params as { user: string }).user }));

  app.post('/v1/conversations/:id/leave', {
    onRequest: authenticate,
    schema: { summary: 'Leave a group', security: bearer, params: convParams, response: { 200: ConversationResult, ...groupErrors } },
  }, async (req) => service.changeGroup(session(req), convId(req), { op: 'leave' }));

  app.patch('/v1/conversations/:id', {
    onRequest: authenticate,
    schema: {
      summary: 'Rename a group (admins)',
      security: bearer,
      params: convParams,
      body: Type.Object({ title: GroupTitle }, { additionalProperties: false }),
      response: { 200: ConversationResult, ...groupErrors },
    },
  }, async (req) => service.changeGroup(session(req), convId(req), { op: 'rename', title: (req.body as { title: string }).title }));

  app.post('/v1/conversations/:id/read', {
    onRequest: authenticate,
    schema: {
      summary: 'Move your read position forward (never back); your devices and the other members are told',
      security: bearer,
      params: convParams,
      body: Type.Object({ seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }) }, { additionalProperties: false }),
      response: { 200: ConversationResult, ...errors(400, 401, 404) },
    },
  }, async (req) => service.read(session(req), convId(req), (req.body as { seq: number }).seq));

  app.get('/v1/presence', {
    onRequest: authenticate,
    schema: {
      summary: 'Online state and last activity of users who share a conversation with you (comma-separated usernames)',
      security: bearer,
      querystring: Type.Object({ users: Type.String({ minLength: 3, maxLength: 20000 }) }),
      response: { 200: PresenceResult, ...errors(400, 401) },
    },
  }, async (req) => {
    const names = [...new Set((req.query as { users: string }).users.split(',').map((u) => u.trim()).filter(Boolean))].slice(0, 500);
    const users = [];
    for (const username of names) {
      try {
        users.push({ id: await service.resolveUser(username), username });
      } catch {
        /* strangers and unknown users are left out alike */
      }
    }
    return services.presence.query(session(req).userId, users);
  });

  app.get('/v1/conversations/:id/messages', {
    onRequest: authenticate,
    schema: {
      summary: "A conversation's messages, paged backwards from `before`",
      security: bearer,
      params: Type.Object({ id: ConversationId }),
      querystring: Type.Object({ before: Type.Optional(Seq), limit: Type.Optional(Limit) }),
      response: { 200: HistoryResult, ...errors(400, 401, 404) },
    },
  }, async (req) => {
    const q = req.query as { before?: number; limit?: number };
    return service.history(session(req), (req.params as { id: string }).id, q.before, q.limit);
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/v1/protocol.json', { schema: { hide: true } }, async () => ({
    version: PROTOCOL_VERSION,
    clientFrames: ClientFrames,
    serverFrames: ServerFrames,
    errors: ERROR_CODES,
  }));
}
