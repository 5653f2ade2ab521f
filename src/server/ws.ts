import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import {
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
import { type WebSocket, WebSocketServer } from "ws";
import type { Context } from "../context";
import type { Authenticator, Session } from "../domain/auth";
import type { Streams } from "../domain/streams";
import type { Logger } from "../lib/logger";
import { formatError, isExpectedError } from "./errors";
import type { Metrics } from "./metrics";
import { MAX_TOKENS } from "./validation-rules";
import type { SocketRegistry } from "./socket-registry";

interface ConnectionState {
  connectionId: string;
  session?: Session;
  activeSubscriptions: Set<string>;
  /** when each operation arrived, for the operation metrics */
  startedAt: Map<string, bigint>;
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
}

/**
 * graphql-ws on the same port and path as HTTP. The key comes in connection_init's payload
 * (`{"authorization": "Bearer <key>"}`); a missing or invalid key closes the socket with 4403.
 * Parsing and validation are done here with the same extra rules as the HTTP path.
 */
export function startWsServer(deps: WsDeps): { wss: WebSocketServer; server: Disposable } {
  // maxPayload bounds one message like MAX_BODY_BYTES bounds one HTTP body (ws's default is 100 MiB).
  const wss = new WebSocketServer({ server: deps.httpServer, path: deps.path, maxPayload: deps.maxMessageBytes });
  const states = new WeakMap<object, ConnectionState>();
  const stateOf = (extra: object): ConnectionState => {
    let s = states.get(extra);
    if (!s) states.set(extra, (s = { connectionId: randomUUID(), activeSubscriptions: new Set(), startedAt: new Map() }));
    return s;
  };

  const server = useServer<Record<string, unknown> | undefined, { socket: WebSocket }>(
    {
      connectionInitWaitTimeout: deps.initTimeoutMs,
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
        state.session = session;
        deps.sockets.add(ctx.extra.socket, session.keyId, session.kind === "tenant" ? session.tenantId : undefined);
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
        let document;
        try {
          document = parse(payload.query, { maxTokens: MAX_TOKENS });
        } catch (err) {
          return rejected([err instanceof GraphQLError ? err : new GraphQLError("could not parse the operation")]);
        }
        const errors = validate(deps.schema, document, [...specifiedRules, ...deps.validationRules]);
        if (errors.length > 0) return rejected(errors);
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return rejected([new GraphQLError("no operation with that name in the document")]);
        state.startedAt.set(id, started);
        const contextValue: Context = {
          session: state.session!,
          requestId: `${state.connectionId}:${id}`,
          log: deps.log.child({ reqId: `${state.connectionId}:${id}` }),
          streams: deps.streams,
        };
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
        }
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

function secondsSince(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function logUnexpected(log: Logger, errors: readonly GraphQLError[], connectionId: string, id: string): void {
  for (const err of errors) {
    if (!isExpectedError(err)) log.error({ err, reqId: `${connectionId}:${id}` }, "unexpected error in a WebSocket operation");
  }
}
