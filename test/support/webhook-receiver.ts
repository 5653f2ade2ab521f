import { type IncomingHttpHeaders, type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** the raw body, exactly as received (signatures are over these bytes) */
  body: string;
  /** the status this receiver answered */
  answered: number;
  /** when it arrived (epoch ms) */
  at: number;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** answer only after this long (a slow receiver) */
  delayMs?: number;
}

export interface WebhookReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** Replies to give, in order, to the next requests; when used up, `fallback` answers. */
  script(replies: Array<Reply | number>): void;
  fallback: Reply;
  /** Resolves once `n` requests have arrived; fails after `timeoutMs` with what did arrive. */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

/** A local HTTP receiver for notification tests: records every request and answers as scripted (200 by default). */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  let queue: Reply[] = [];
  const receiver: Partial<WebhookReceiver> & { fallback: Reply } = { fallback: { status: 200, body: "ok" } };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const reply = queue.shift() ?? receiver.fallback;
      requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), answered: reply.status, at: Date.now() });
      const answer = () => {
        if (res.destroyed) return;
        res.writeHead(reply.status, { "content-type": "text/plain", ...reply.headers });
        res.end(reply.body ?? "");
      };
      if (reply.delayMs) setTimeout(answer, reply.delayMs).unref();
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    script(replies: Array<Reply | number>) {
      queue = replies.map((r) => (typeof r === "number" ? { status: r, body: `status ${r}` } : r));
    },
    async waitFor(n: number, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} requests within ${timeoutMs} ms, got ${requests.length}: ${JSON.stringify(requests.map((r) => [r.path, r.answered]))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  }) as WebhookReceiver;
}
