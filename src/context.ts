import type { Session } from "./domain/auth";
import type { Logger } from "./lib/logger";
import type { Streams } from "./domain/streams";

/** The one context shape for HTTP requests and WebSocket operations. */
export interface Context {
  session: Session;
  requestId: string;
  log: Logger;
  streams: Streams;
}
