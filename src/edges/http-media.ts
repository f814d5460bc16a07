/**
 * Picture routes: the upload (raw bytes, any declared type, never trusted)
 * and the signed, expiring picture and thumbnail URLs.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { MediaId, UploadResult } from '../protocol/schemas.js';
import type { Session } from '../service/chat.js';
import { THUMB_SIZE, type MediaVariant } from '../service/media.js';
import { bearerSession, errors } from './http.js';
import type { Services } from './ws-handlers.js';

const binary = (description: string) => ({ description, content: { 'image/*': { schema: { type: 'string', format: 'binary' } } } });

const signedQuery = Type.Object({
  expires: Type.Integer({ description: 'Expiry of the link, ms since the epoch (part of the signed URL).' }),
  sig: Type.String({ minLength: 1, maxLength: 128, description: 'HMAC signature of the link (part of the signed URL).' }),
});

export function registerMediaRoutes(app: FastifyInstance, services: Services, config: Config): void {
  const media = services.media;

  void app.register(async (scope) => {
    // The body is the picture itself, whatever Content-Type the client declares: its type is decided from its bytes.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.mediaMaxBytes }, (_req, body, done) => done(null, body));

    // Before the body is read: anonymous or too frequent uploads are refused without receiving megabytes.
    const authenticate = async (req: FastifyRequest) => {
      const session = await bearerSession(services, req);
      req.session = session;
      media.admit(session);
    };

    scope.post('/v1/media', {
      onRequest: authenticate,
      bodyLimit: config.mediaMaxBytes,
      // The body is bytes, checked by the media service; the schema below is for the OpenAPI document.
      validatorCompiler: () => () => true,
      schema: {
        summary: 'Upload a picture (raw bytes as the body; JPEG, PNG, WebP, GIF or AVIF, decided from the content). Send it with POST /v1/messages and `media`',
        security: [{ bearer: [] }],
        consumes: ['application/octet-stream', 'image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/avif'],
        body: { type: 'string', format: 'binary', description: `The picture, at most MEDIA_MAX_BYTES (${config.mediaMaxBytes}) bytes and MEDIA_MAX_PIXELS (${config.mediaMaxPixels}) pixels.` },
        response: { 201: UploadResult, ...errors(400, 401, 413, 415, 429, 503) },
      },
    }, async (req, reply) => {
      const body = req.body;
      if (!Buffer.isBuffer(body) || body.length === 0) throw new AppError('unsupported_media', 'the body must be the picture\'s bytes');
      const result = await media.upload(req.session as Session, body);
      return reply.status(201).send(result);
    });

    const serve = (variant: MediaVariant) => async (req: FastifyRequest, reply: FastifyReply) => {
      const { id } = req.params as { id: string };
      const { expires, sig } = req.query as { expires: number; sig: string };
      const s = await media.open(id, variant, expires, sig, {
        range: req.headers.range,
        ifNoneMatch: req.headers['if-none-match'],
      });
      reply.header('etag', s.etag);
      reply.header('accept-ranges', 'bytes');
      // The bytes behind a URL never change (content-addressed); private: only the member's own cache keeps them past the link's expiry.
      reply.header('cache-control', 'private, max-age=31536000, immutable');
      reply.header('x-content-type-options', 'nosniff');
      reply.header('content-security-policy', "default-src 'none'; sandbox");
      if (s.status === 304) return reply.status(304).send();
      if (s.status === 416) {
        reply.header('content-range', `bytes */${s.size}`);
        return reply.status(416).send({ error: { code: 'bad_request', message: 'range not satisfiable' } });
      }
      reply.header('content-type', s.mime);
      reply.header('content-disposition', 'inline');
      if (s.status === 206 && s.range) {
        reply.header('content-range', `bytes ${s.range.start}-${s.range.end}/${s.size}`);
        reply.header('content-length', s.range.end - s.range.start + 1);
      } else {
        reply.header('content-length', s.size);
      }
      return reply.status(s.status).send(s.body);
    };

    const served = {
      200: binary('The picture (or thumbnail), with long-lived caching: the bytes behind a URL never change.'),
      206: binary('The requested byte range (Range: bytes=...).'),
      304: { description: 'Not modified (If-None-Match).', type: 'null' },
      ...errors(400, 403, 404, 416),
    };
    scope.get('/v1/media/:id', {
      schema: {
        summary: 'A picture, by the signed and expiring URL a picture message carries (`picture.url`); no Authorization header needed',
        params: Type.Object({ id: MediaId }),
        querystring: signedQuery,
        response: served,
      },
    }, serve('full'));
    scope.get('/v1/media/:id/thumb', {
      schema: {
        summary: `The WebP thumbnail of a picture (at most ${THUMB_SIZE} px on its longest side), by its signed URL (\`picture.thumbUrl\`)`,
        params: Type.Object({ id: MediaId }),
        querystring: signedQuery,
        response: served,
      },
    }, serve('thumb'));
  });
}
