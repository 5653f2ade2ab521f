import { randomUUID } from "node:crypto";
import { IncomingMessage, type Server, ServerResponse, createServer } from "node:http";
import type { Socket } from "node:net";
import type { ApolloServer, ApolloServerPlugin } from "@apollo/server";
import { expressMiddleware } from "@as-integrations/express5";
import express, { type ErrorRequestHandler, type Express } from "express";
import { pinoHttp } from "pino-http";
import type { Context } from "../context";
import type { Database } from "../db/database";
import type { Authenticator } from "../domain/auth";
import type { Streams } from "../domain/streams";
import type { Logger } from "../lib/logger";
import { MASKED_MESSAGE, isExpectedError } from "./errors";
import type { Metrics } from "./metrics";

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;

export interface HttpDeps {
  apollo: ApolloServer<Context>;
  db: Database;
  authenticator: Authenticator;
  streams: Streams;
  metrics: Metrics;
  log: Logger;
  maxBodyBytes: number;
  isShuttingDown: () => boolean;
  /**
   * REDIS_URL set: the event bus's connection state, reported by /readyz. It never makes the process
   * unready: events over Redis are best effort, and the API works without them (README).
   */
  redisState?: () => string;
}

/**
 * An express 5 app and the node:http server that serves it, built so that express never changes the
 * prototype of a request or a response.
 *
 * Why: express's app.handle sets the prototype of every `req` and `res` to the app's own
 * (Object.setPrototypeOf, for sub-apps). On V8 that left each request's objects alive through the
 * next young-generation collections: with sequential requests, a bare express app promoted 3–5 MB
 * per scavenge (`--trace-gc-nvp`) and paused 3–7 ms each time, against nothing promoted and 0.2 ms
 * for node:http alone — the pauses that made up the tail of every GraphQL request (p99 of a bare
 * Apollo Server on express 5 at 4.6 ms against a p50 of 0.7; README, "Benchmarks").
 *
 * How (expressjs/express#5998): node:http creates `req` and `res` from the classes given here, whose
 * prototypes are the app's request and response objects themselves. express's Object.setPrototypeOf
 * then asks for the prototype the object already has, which V8 answers without changing anything.
 * Vigil mounts no sub-apps, the only case in which express asks for another prototype.
 */
export function expressServer(): { app: Express; server: Server } {
  const app = express();
  // node:http's IncomingMessage and ServerResponse are plain constructor functions (Node 20), so these
  // call them on the object `new` made with the app's prototype. Reflect.construct with the app's
  // class as new.target gave the same objects at twice the latency (V8's slow construct path).
  const incomingMessage = IncomingMessage as unknown as (this: IncomingMessage, socket: Socket) => void;
  const serverResponse = ServerResponse as unknown as (this: ServerResponse, req: IncomingMessage, options?: unknown) => void;
  function Request(this: IncomingMessage, socket: Socket): void {
    incomingMessage.call(this, socket);
  }
  Request.prototype = app.request;
  function Response(this: ServerResponse, req: IncomingMessage, options?: unknown): void {
    serverResponse.call(this, req, options);
  }
  Response.prototype = app.response;
  const server = createServer(
    { IncomingMessage: Request as unknown as typeof IncomingMessage, ServerResponse: Response as unknown as typeof ServerResponse },
    app,
  );
  return { app, server };
}

/** express 5 on `app`: /graphql (Apollo), /healthz, /readyz, /metrics, and JSON errors for bad bodies. */
export function mountHttpRoutes(app: Express, deps: HttpDeps): void {
  app.disable("x-powered-by");
  app.use(
    pinoHttp({
      logger: deps.log,
      genReqId(req: IncomingMessage, res: ServerResponse) {
        const given = req.headers["x-request-id"];
        const id = typeof given === "string" && REQUEST_ID_RE.test(given) ? given : randomUUID();
        res.setHeader("X-Request-Id", id);
        return id;
      },
      autoLogging: { ignore: (req) => req.url === "/healthz" || req.url === "/readyz" || req.url === "/metrics" },
      // One short line per request: headers would cost ~600 bytes a line and may carry secrets.
      serializers: {
        // every line logged through req.log carries this, so the request id is on each of them
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });

  app.get("/readyz", async (_req, res) => {
    if (deps.isShuttingDown()) {
      res.status(503).json({ status: "unavailable", reason: "shutting down" });
      return;
    }
    try {
      await withTimeout(deps.db.query("SELECT 1"), 2_000, "database did not answer within 2 s");
      res.json({ status: "ready", database: deps.db.kind, ...(deps.redisState ? { redis: deps.redisState() } : {}) });
    } catch (err) {
      res.status(503).json({ status: "unavailable", reason: `database unreachable: ${(err as Error).message}` });
    }
  });

  app.get("/metrics", async (_req, res) => {
    res.setHeader("Content-Type", deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  });

  app.use(
    "/graphql",
    express.json({ limit: deps.maxBodyBytes }),
    expressMiddleware(deps.apollo, {
      context: async ({ req }): Promise<Context> => ({
        session: await deps.authenticator.fromAuthorization(req.headers.authorization),
        requestId: String(req.id),
        log: req.log,
        streams: deps.streams,
      }),
    }),
  );

  const bodyErrors: ErrorRequestHandler = (err, req, res, next) => {
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === "entity.too.large") {
      res.status(413).json(errorBody(`request body exceeds the limit of ${deps.maxBodyBytes} bytes (MAX_BODY_BYTES)`));
    } else if (e.type === "entity.parse.failed") {
      res.status(400).json(errorBody(`malformed JSON body: ${e.message ?? "parse error"}`));
    } else if (e.status && e.status >= 400 && e.status < 500) {
      res.status(e.status).json(errorBody(e.message ?? "bad request"));
    } else {
      req.log.error({ err }, "unhandled HTTP error");
      if (res.headersSent) return next(err);
      res.status(500).json({ errors: [{ message: MASKED_MESSAGE, extensions: { code: "INTERNAL_SERVER_ERROR" } }] });
    }
  };
  app.use(bodyErrors);
}

function errorBody(message: string) {
  return { errors: [{ message, extensions: { code: "BAD_USER_INPUT" } }] };
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms))),
  ]);
}

/** Counts and times every operation, and logs unexpected errors with the request id. */
export function observabilityPlugin(metrics: Metrics): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async didEncounterErrors({ errors, contextValue, logger }) {
          for (const err of errors) {
            if (isExpectedError(err)) continue;
            // contextValue is missing when the context function itself failed.
            const log = contextValue?.log ?? logger;
            log.error({ err, reqId: contextValue?.requestId }, "unexpected error in a GraphQL operation");
          }
        },
        async willSendResponse({ operationName, operation, response, errors }) {
          // tenant data: never stored by a cache (what Apollo's cache-control plugin, turned off in
          // app.ts because Vigil sets no cache hints, answered for every response)
          response.http.headers.set("cache-control", "no-store");
          const failed =
            (errors?.length ?? 0) > 0 || (response.body.kind === "single" && (response.body.singleResult.errors?.length ?? 0) > 0);
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          metrics.observeOperation(operationName, operation?.operation ?? "unknown", failed ? "error" : "success", seconds);
        },
      };
    },
  };
}
