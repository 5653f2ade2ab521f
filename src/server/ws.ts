import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import {
  type DocumentNode,
  type ExecutionResult,
  GraphQLError,
  type GraphQLSchema,
  type ValidationRule,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
} from "graphql";
import type { Disposable } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { LRUCache } from "lru-cache";
import { type WebSocket, WebSocketServer } from "ws";
import type { WsConfig } from "../config";
import type { Context } from "../context";
import type { Authenticator, Session } from "../domain/auth";
import type { Streams } from "../domain/streams";
import type { Logger } from "../lib/logger";
import { formatError, isExpectedError } from "./errors";
import type { Metrics } from "./metrics";
import { MAX_TOKENS } from "./validation-rules";
import { SubscriptionMulticast } from "./multicast";
import { SocketSendQueue } from "./send-queue";
import { CLOSE_TOO_MANY_CONNECTIONS, type SocketRegistry } from "./socket-registry";

/**
 * Close code for a socket that fell more than WS_MAX_QUEUED_MESSAGES messages behind. Private-use
 * range (4000–4999) and not one graphql-ws uses; its client retries it, like a dropped connection.
 */
export const CLOSE_SLOW_CONSUMER = 4008;
/** how long a slow consumer has to complete the close handshake before its socket is destroyed */
export const SLOW_CONSUMER_CLOSE_GRACE_MS = 5_000;
/** parsed and validated documents kept, by query text (about 4 bytes of AST per character of text) */
const DOCUMENT_CACHE_BYTES = 32 * 1024 * 1024;

interface ConnectionState {
  connectionId: string;
  session?: Session;
  activeSubscriptions: Set<string>;
  /** when each operation arrived, for the operation metrics */
  startedAt: Map<string, bigint>;
  /** messages of this socket's subscriptions not yet written to it, bounded */
  queue: SocketSendQueue;
}

export interface WsDeps {
  httpServer: Server;
  path: string;
  schema: GraphQLSchema;
  authenticator: Authenticator;
  streams: Streams;
  log: Logger;
  metrics: Metrics;
  sockets: SocketRegistry;
  validationRules: ValidationRule[];
  initTimeoutMs: number;
  maxMessageBytes: number;
  /** keepalive and limits; the connection limits themselves are the SocketRegistry's */
  limits: Pick<WsConfig, "keepAliveMs" | "maxQueuedMessages">;
  /** SLOW_CONSUMER_CLOSE_GRACE_MS unless given */
  slowConsumerCloseGraceMs?: number;
}

/**
 * graphql-ws on the same port and path as HTTP. The key comes in connection_init's payload
 * (`{"authorization": "Bearer <key>"}`); a missing or invalid key closes the socket with 4403.
 * Parsing and validation are done here with the same extra rules as the HTTP path.
 *
 * Robustness, per process: connection_init must arrive within initTimeoutMs (4408); the server
 * pings every keepAliveMs and terminates a socket that did not answer the previous ping; a key or
 * tenant beyond its connection limit is closed with 4429; a socket more than maxQueuedMessages
 * messages behind is closed with CLOSE_SLOW_CONSUMER (see send-queue.ts).
 *
 * Fan-out: documents are parsed and validated once per text, and subscriptions of the same key,
 * document, operation name and variables share one execution per event (multicast.ts); each
 * socket still has its own bounded queue.
 */
export function startWsServer(deps: WsDeps): { wss: WebSocketServer; server: Disposable } {
  // maxPayload bounds one message like MAX_BODY_BYTES bounds one HTTP body (ws's default is 100 MiB).
  const wss = new WebSocketServer({ server: deps.httpServer, path: deps.path, maxPayload: deps.maxMessageBytes });
  const states = new WeakMap<object, ConnectionState>();
  const queues = new Set<SocketSendQueue>();
  let closedQueuesPeak = 0;
  deps.metrics.wsSendQueues = () => {
    let queued = 0;
    let peak = closedQueuesPeak;
    for (const q of queues) {
      queued += q.size;
      if (q.peak > peak) peak = q.peak;
    }
    return { queued, peak };
  };
  const graceMs = deps.slowConsumerCloseGraceMs ?? SLOW_CONSUMER_CLOSE_GRACE_MS;
  // Many clients send the same few documents: parse and validate each text once. Validation
  // depends on the schema and the rules only, not on the session.
  const documents = new LRUCache<string, DocumentNode>({ maxSize: DOCUMENT_CACHE_BYTES, sizeCalculation: (_doc, query) => Math.max(1, query.length * 4) });
  // one execution per event for every subscription of the same key, document and variables
  const multicast = new SubscriptionMulticast();
  const groupKeys = new WeakMap<object, string>();
  const stateOf = (extra: { socket: WebSocket }): ConnectionState => {
    let s = states.get(extra);
    if (!s) {
      const connectionId = randomUUID();
      const queue = new SocketSendQueue(deps.limits.maxQueuedMessages, () => closeSlowConsumer(extra.socket, connectionId, s!));
      queues.add(queue);
      states.set(extra, (s = { connectionId, activeSubscriptions: new Set(), startedAt: new Map(), queue }));
    }
    return s;
  };
  const closeSlowConsumer = (socket: WebSocket, connectionId: string, state: ConnectionState) => {
    const limit = deps.limits.maxQueuedMessages;
    deps.metrics.wsSlowConsumersClosed.inc();
    deps.log.warn(
      { connectionId, keyId: keyIdOf(state.session), tenantId: tenantIdOf(state.session), limit },
      "closing a slow WebSocket consumer",
    );
    // The close frame waits behind the unread data; a client that never reads again does not
    // answer it, so the socket is destroyed after a grace period (ws's own wait is 30 s).
    socket.close(CLOSE_SLOW_CONSUMER, `slow consumer: more than ${limit} messages waiting`);
    const timer = setTimeout(() => socket.terminate(), graceMs);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
  };

  const server = useServer<Record<string, unknown> | undefined, { socket: WebSocket }>(
    {
      connectionInitWaitTimeout: deps.initTimeoutMs,
      subscribe: (args) => multicast.join(groupKeys.get(args.contextValue as object), args),
      onConnect: async (ctx) => {
        const state = stateOf(ctx.extra);
        let session: Session;
        try {
          session = await deps.authenticator.fromAuthorization(ctx.connectionParams?.authorization);
        } catch (err) {
          if (!isExpectedError(err)) deps.log.error({ err, connectionId: state.connectionId }, "ws authentication failed");
          return false;
        }
        if (session.kind === "anonymous") return false;
        // closed while authenticating: onClose has run already, so nothing must be registered
        if (ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) return false;
        const refused = deps.sockets.admit(ctx.extra.socket, session.keyId, tenantIdOf(session));
        if (refused) {
          deps.metrics.wsConnectionsRefused.inc({ limit: refused.limit });
          deps.log.info({ connectionId: state.connectionId, keyId: session.keyId, tenantId: tenantIdOf(session), limit: refused.limit }, "WebSocket connection refused: connection limit");
          // graphql-ws then closes with 4403, which is a no-op on a closing socket
          ctx.extra.socket.close(CLOSE_TOO_MANY_CONNECTIONS, refused.reason);
          return false;
        }
        state.session = session;
        deps.metrics.wsConnections.inc();
        return true;
      },
      onSubscribe: (ctx, id, payload) => {
        const state = stateOf(ctx.extra);
        const started = process.hrtime.bigint();
        const rejected = (errors: readonly GraphQLError[]) => {
          deps.metrics.observeOperation(payload.operationName, "unknown", "error", secondsSince(started));
          return errors;
        };
        let document = documents.get(payload.query);
        if (!document) {
          try {
            document = parse(payload.query, { maxTokens: MAX_TOKENS });
          } catch (err) {
            return rejected([err instanceof GraphQLError ? err : new GraphQLError("could not parse the operation")]);
          }
          const errors = validate(deps.schema, document, [...specifiedRules, ...deps.validationRules]);
          if (errors.length > 0) return rejected(errors);
          documents.set(payload.query, document);
        }
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return rejected([new GraphQLError("no operation with that name in the document")]);
        state.startedAt.set(id, started);
        const contextValue: Context = {
          session: state.session!,
          requestId: `${state.connectionId}:${id}`,
          log: deps.log.child({ reqId: `${state.connectionId}:${id}` }),
          streams: deps.streams,
        };
        if (operation.operation === "subscription") {
          // same key: same tenant and permissions, so the same results for the same operation
          groupKeys.set(contextValue, [state.session!.kind === "anonymous" ? "" : state.session!.keyId, payload.operationName ?? "", JSON.stringify(payload.variables ?? null), payload.query].join("\u0000"));
        }
        return {
          schema: deps.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue,
        };
      },
      onOperation: (ctx, id, payload, args, result) => {
        const state = stateOf(ctx.extra);
        const isStream = result !== null && typeof result === "object" && Symbol.asyncIterator in result;
        // A subscription is counted once it is set up; a query or mutation once it has its result.
        const failed = !isStream && ((result as { errors?: unknown[] }).errors?.length ?? 0) > 0;
        const operation = getOperationAST(args.document, payload.operationName);
        const started = state.startedAt.get(id) ?? process.hrtime.bigint();
        state.startedAt.delete(id);
        deps.metrics.observeOperation(
          operation?.name?.value ?? payload.operationName,
          operation?.operation ?? "unknown",
          failed ? "error" : "success",
          secondsSince(started),
        );
        if (isStream) {
          state.activeSubscriptions.add(id);
          deps.metrics.wsSubscriptions.inc();
          // graphql-ws iterates this instead: it reads ahead into the socket's bounded queue
          return state.queue.wrap(result as AsyncIterable<ExecutionResult>);
        }
        return undefined;
      },
      onNext: (ctx, id, _payload, _args, result) => {
        if (!result.errors) return;
        logUnexpected(deps.log, result.errors, stateOf(ctx.extra).connectionId, id);
        return { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) };
      },
      onError: (ctx, id, _payload, errors) => {
        logUnexpected(deps.log, errors, stateOf(ctx.extra).connectionId, id);
        return errors.map((e) => formatError(e.toJSON(), e));
      },
      onComplete: (ctx, id) => {
        if (stateOf(ctx.extra).activeSubscriptions.delete(id)) deps.metrics.wsSubscriptions.dec();
      },
      onClose: (ctx) => {
        const state = stateOf(ctx.extra);
        state.queue.endAll();
        queues.delete(state.queue);
        closedQueuesPeak = Math.max(closedQueuesPeak, state.queue.peak);
        deps.metrics.wsSubscriptions.dec(state.activeSubscriptions.size);
        state.activeSubscriptions.clear();
        if (state.session && state.session.kind !== "anonymous") {
          deps.sockets.remove(
            ctx.extra.socket,
            state.session.keyId,
            state.session.kind === "tenant" ? state.session.tenantId : undefined,
          );
          deps.metrics.wsConnections.dec();
        }
      },
    },
    wss,
    // pings every keepAliveMs; a socket that has not answered within keepAliveMs is terminated (0: off)
    deps.limits.keepAliveMs,
  );
  // Runs after graphql-ws's own connection handler: that one logs socket errors with console.error
  // (not JSON, and at any client's will) and closes with 1011. ws has already closed such sockets
  // with the right code (1009 for an oversized message), so log them as warnings instead.
  wss.on("connection", (socket) => {
    socket.removeAllListeners("error");
    socket.on("error", (err: Error & { code?: string }) => {
      deps.log.warn({ code: err.code, reason: err.message }, "WebSocket protocol error; socket closed");
    });
  });
  return { wss, server };
}

function keyIdOf(session: Session | undefined): string | undefined {
  return session && session.kind !== "anonymous" ? session.keyId : undefined;
}

function tenantIdOf(session: Session | undefined): string | undefined {
  return session?.kind === "tenant" ? session.tenantId : undefined;
}

function secondsSince(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function logUnexpected(log: Logger, errors: readonly GraphQLError[], connectionId: string, id: string): void {
  for (const err of errors) {
    if (!isExpectedError(err)) log.error({ err, reqId: `${connectionId}:${id}` }, "unexpected error in a WebSocket operation");
  }
}
