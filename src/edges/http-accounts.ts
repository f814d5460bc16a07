/** HTTP routes for accounts and devices: register, log in, log out, password, device list, server info. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  ChangePasswordParams, DeviceId, DevicesResult, LoginParams, LoginResult, PROTOCOL_VERSION, RegisterParams, RevokeResult, ServerInfo,
} from '../protocol/schemas.js';
import type { Session } from '../service/accounts.js';
import { PASSWORD_MIN } from '../service/passwords.js';
import { bearer, errors } from './http.js';
import type { Services } from './ws-handlers.js';

export function registerAccountRoutes(app: FastifyInstance, services: Services, authenticate: (req: FastifyRequest) => Promise<void>): void {
  const accounts = services.accounts;
  const session = (req: FastifyRequest) => req.session as Session;
  const config = services.chat.config;
  const loggedIn = (s: Session) => services.chat.noteUser(s);

  app.get('/v1/info', {
    schema: { summary: 'How to log in to this server (auth mode) and its limits', response: { 200: ServerInfo } },
  }, async () => ({
    authMode: config.authMode,
    protocol: PROTOCOL_VERSION,
    limits: { maxMessageChars: config.maxMessageChars, maxFrameBytes: config.maxFrameBytes, passwordMinLength: PASSWORD_MIN },
  }));

  app.post('/v1/register', {
    schema: {
      summary: 'Create an account with a password and log in as its first device',
      body: RegisterParams,
      response: { 200: LoginResult, ...errors(400, 409, 429, 503) },
    },
  }, async (req) => {
    const r = await accounts.register(req.body as { username: string; password: string; deviceName?: string }, req.ip);
    loggedIn(r.session);
    return r.result;
  });

  app.post('/v1/login', {
    schema: {
      summary: 'Log in as a new device (username, plus password when the account or the server requires one), or resume a device by token',
      body: LoginParams,
      response: { 200: LoginResult, ...errors(400, 401, 429, 503) },
    },
  }, async (req) => {
    const r = await accounts.login(req.body as { username: string } | { token: string }, req.ip);
    loggedIn(r.session);
    return r.result;
  });

  app.post('/v1/logout', {
    onRequest: authenticate,
    schema: { summary: "Log this device out: its token is revoked and its WebSocket connections close with 4001", security: bearer, response: { 200: RevokeResult, ...errors(401) } },
  }, async (req) => accounts.logout(session(req)));

  app.get('/v1/devices', {
    onRequest: authenticate,
    schema: { summary: 'Your devices that are neither revoked nor expired', security: bearer, response: { 200: DevicesResult, ...errors(401) } },
  }, async (req) => ({ devices: await accounts.devices(session(req)) }));

  app.delete('/v1/devices/:id', {
    onRequest: authenticate,
    schema: {
      summary: 'Log one of your devices out everywhere (its connections on every node close with 4001)',
      security: bearer,
      params: Type.Object({ id: DeviceId }),
      response: { 200: RevokeResult, ...errors(400, 401, 404) },
    },
  }, async (req) => accounts.revokeDevice(session(req), (req.params as { id: string }).id));

  app.put('/v1/password', {
    onRequest: authenticate,
    schema: {
      summary: 'Set a new password (the current one is required when there is one); your other devices are logged out',
      security: bearer,
      body: ChangePasswordParams,
      response: { 200: RevokeResult, ...errors(400, 401, 403, 429) },
    },
  }, async (req) => accounts.changePassword(session(req), req.body as { oldPassword?: string; newPassword: string }, req.ip));
}
