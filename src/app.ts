/**
 * The composition root: reads the configuration, picks the adapters and wires
 * the layers. `buildApp` does not listen, so tests can start as many servers
 * as they like.
 */
import type { AddressInfo } from 'node:net';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { MemoryBus } from './adapters/bus-memory.js';
import { RedisBus } from './adapters/bus-redis.js';
import { RedisPresence } from './adapters/presence-redis.js';
import { SqliteStore } from './adapters/store-sqlite.js';
import { PostgresStore } from './adapters/store-postgres.js';
import { ConfigError, type Config } from './config.js';
import { installErrorHandling, registerRoutes } from './edges/http.js';
import { originAllowed } from './edges/origin.js';
import { AccountService } from './service/accounts.js';
import { registerMediaRoutes } from './edges/http-media.js';
import { registerWebApp } from './edges/web.js';
import { CloseCode } from './edges/ws-connection.js';
import { Gateway, WS_PATH } from './edges/ws-gateway.js';
import { createLogger } from './log.js';
import { createMetrics } from './metrics.js';
import type { Bus } from './ports/bus.js';
import type { Store } from './ports/store.js';
import { PROTOCOL_VERSION } from './protocol/schemas.js';
import { ChatService } from './service/chat.js';
import { Hub } from './service/hub.js';
import { guardStore } from './service/store-guard.js';
import { PresenceService } from './service/presence.js';
import { TypingService } from './service/typing.js';
import { MemoryPresence } from './adapters/presence-memory.js';
import type { Presence } from './ports/presence.js';
import type { Services } from './edges/ws-handlers.js';
import { DiskMediaStore } from './adapters/media-disk.js';
import { S3MediaStore } from './adapters/media-s3.js';
import type { MediaStore } from './ports/media.js';
import { fileSecret, MediaService } from './service/media.js';

export interface App {
  readonly config: Config;
  readonly log: Logger;
  readonly store: Store;
  readonly service: ChatService;
  readonly services: Services;
  readonly http: FastifyInstance;
  readonly gateway: Gateway;
  readonly bus: Bus;
  /** Migrates, listens, and turns ready. Resolves with the bound port. */
  listen(): Promise<number>;
  /**
   * Stops taking traffic (not ready, no new sockets), closes sockets with
   * `code` spread over `spreadMs`, finishes the writes in flight, closes
   * storage.
   */
  close(code?: number, spreadMs?: number): Promise<void>;
}

export function createStore(config: Config): Store {
  const url = config.databaseUrl;
  if (url.startsWith('sqlite:')) return new SqliteStore(url.slice('sqlite:'.length), { synchronous: config.sqliteSynchronous });
  if (/^postgres(ql)?:\/\//.test(url)) return new PostgresStore(url, { poolSize: config.databasePoolSize });
  throw new ConfigError(`Invalid configuration: DATABASE_URL must be sqlite:<path> or postgres://... (got ${JSON.stringify(url)})`);
}

/** The picture store named by MEDIA_STORE. */
export function createMediaStore(config: Config): MediaStore {
  if (config.mediaStore === 'disk') return new DiskMediaStore(config.mediaDir);
  return new S3MediaStore({
    bucket: config.mediaS3Bucket, region: config.mediaS3Region, endpoint: config.mediaS3Endpoint, forcePathStyle: config.mediaS3ForcePathStyle,
    accessKeyId: config.mediaS3AccessKeyId, secretAccessKey: config.mediaS3SecretAccessKey,
  });
}

export function buildApp(config: Config, deps: { store?: Store; bus?: Bus; presence?: Presence; log?: Logger; mediaStore?: MediaStore } = {}): App {
  const log = deps.log ?? createLogger(config);
  const store = deps.store ?? createStore(config);
  const bus = deps.bus ?? (config.redisUrl ? new RedisBus(config.redisUrl, config.nodeId, log) : new MemoryBus());
  const hub = new Hub(bus);
  let observeDelivery: (ms: number) => void = () => {};
  let storeErrors = 0;
  // The services see the store through a guard: storage failures become the retryable `unavailable`.
  const guarded = guardStore(store, log, () => storeErrors++);
  const mediaStore = deps.mediaStore ?? createMediaStore(config);
  if (!config.mediaSecret && config.redisUrl) {
    log.warn('MEDIA_SECRET is not set: picture URLs signed by this node work only on nodes that share its MEDIA_DIR; set one MEDIA_SECRET on every node');
  }
  const media = new MediaService(guarded, mediaStore, config, log, config.mediaSecret ? () => Buffer.from(config.mediaSecret) : fileSecret(config.mediaDir));
  const service = new ChatService(guarded, hub, config, log, Date.now, (ms) => observeDelivery(ms), media);
  const presence = deps.presence
    ?? (config.redisUrl ? new RedisPresence(config.redisUrl, config.nodeId, config.presenceTtlMs, Math.max(1000, Math.floor(config.presenceTtlMs / 3))) : new MemoryPresence());
  const services: Services = {
    accounts: new AccountService(guarded, hub, config),
    chat: service,
    presence: new PresenceService(presence, guarded, hub, config, log),
    typing: new TypingService(guarded, hub, config),
    media,
  };
  let ready = false;

  const http = fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxFrameBytes,
    // One hop: the address the load balancer appended to X-Forwarded-For, not what the client claimed.
    trustProxy: config.trustProxy ? (_addr: string, hop: number) => hop === 0 : false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true } },
  });
  void http.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Parley HTTP API',
        version: `${PROTOCOL_VERSION}.0.0`,
        description: `Realtime messages flow over the WebSocket at ${WS_PATH} (see docs/protocol.md); this API offers the same requests over HTTP. Errors have the body {"error": {"code", "message"}} with the codes of the shared catalogue.`,
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The session token from /v1/login.' } } },
    },
  });
  installErrorHandling(http);
  // CORS with the same origin policy as WebSocket upgrades. A refused origin gets no CORS headers, so the browser withholds the response.
  void http.register(cors, {
    delegator: (req, cb) => cb(null, { origin: originAllowed(req.headers.origin, req.headers.host, config), credentials: false, maxAge: 600 }),
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type'],
  });
  void http.register(async (scope) => {
    registerRoutes(scope, services, async () => {
      if (!ready || !bus.healthy()) return false;
      try {
        await store.ping();
        return true;
      } catch {
        return false;
      }
    });
    registerMediaRoutes(scope, services, config);
    registerWebApp(scope);
  });
  const gateway = new Gateway(http.server, services, hub, config, log);
  const metrics = createMetrics({
    parley_connections: { help: 'Open WebSocket connections', read: () => gateway.size },
    parley_connections_accepted_total: { help: 'WebSocket connections accepted', read: () => gateway.stats.accepted },
    parley_slow_consumer_closes_total: { help: 'Sockets closed with 1013 because they read too slowly', read: () => gateway.stats.slowConsumerCloses },
    parley_heartbeat_timeouts_total: { help: 'Sockets closed for missing a ping', read: () => gateway.stats.heartbeatTimeouts },
    parley_users_connected: { help: 'Users with at least one socket on this node', read: () => hub.userCount },
    parley_messages_stored_total: { help: 'Messages committed by this node', read: () => service.stats.messagesStored },
    parley_duplicate_sends_total: { help: 'Sends answered with the original message (retries)', read: () => service.stats.duplicates },
    parley_write_batches_total: { help: 'Write transactions (batches) committed or failed', read: () => service.stats.batches },
    parley_write_batch_items_total: { help: 'Writes in those batches', read: () => service.stats.batchItems },
    parley_store_errors_total: { help: 'Storage calls that failed (each failed batch counts once)', read: () => storeErrors },
    parley_sync_requests_total: { help: 'Sync requests served', read: () => service.stats.syncRequests },
    parley_bus_received_total: { help: 'Events received from other nodes over the bus', read: () => bus.stats.received },
    parley_bus_published_total: { help: 'Events published to other nodes', read: () => bus.stats.published },
    parley_draining: { help: '1 while the node drains (after SIGTERM)', read: () => gateway.stats.draining },
    parley_drain_remaining: { help: 'Connections still open while draining', read: () => gateway.stats.drainRemaining },
    parley_bus_healthy: { help: '1 when the bus delivers (0: stalled subscription)', read: () => (bus.healthy() ? 1 : 0) },
    parley_bus_errors_total: { help: 'Bus connection and publish errors', read: () => bus.stats.errors },
    parley_media_uploads_total: { help: 'Pictures uploaded and stored', read: () => media.stats.uploads },
    parley_media_upload_bytes_total: { help: 'Bytes of accepted uploads, as received', read: () => media.stats.uploadBytes },
    parley_media_refused_total: { help: 'Uploads refused (not a picture, damaged, too many pixels)', read: () => media.stats.refused },
    parley_media_swept_total: { help: 'Uploads deleted because they were never sent', read: () => media.stats.swept },
    parley_media_processing: { help: 'Uploads decoding or waiting for a decoding slot (MEDIA_PROCESSING_CONCURRENCY, MEDIA_PROCESSING_QUEUE)', read: () => media.processing.busy },
    parley_media_busy_total: { help: 'Uploads refused with unavailable because this node had too many pictures to decode', read: () => media.processing.refused },
  }, {
    parley_disconnects_total: { help: 'Closed connections by reason', label: 'reason', read: () => gateway.stats.disconnects },
  }, config.nodeId);
  observeDelivery = metrics.observeDelivery;
  http.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  return {
    config, log, store, service, services, http, gateway, bus,
    async listen() {
      await store.migrate();
      media.start();
      await http.listen({ host: config.host, port: config.port });
      ready = true;
      const port = (http.server.address() as AddressInfo).port;
      log.info({ port, ws: WS_PATH, database: config.databaseUrl.replace(/\/\/[^@]*@/, '//***@') }, 'parley listening');
      return port;
    },
    async close(code = CloseCode.goingAway, spreadMs = 0) {
      ready = false;
      services.presence.stop();
      await media.stop();
      await gateway.close(code, code === CloseCode.restart ? 'server restart: reconnect' : 'server shutting down', spreadMs);
      // Requests in flight get DRAIN_GRACE_MS to finish; a connection still open after that (a client that
      // went away in the middle of a request leaves one behind until its keep-alive timeout) is cut.
      const cut = setTimeout(() => http.server.closeAllConnections(), config.drainGraceMs).unref();
      await http.close();
      clearTimeout(cut);
      while (service.pendingWrites > 0) await new Promise((r) => setTimeout(r, 5));
      await bus.close();
      await presence.close();
      await mediaStore.close();
      await store.close();
    },
  };
}
