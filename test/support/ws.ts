import { type Client, createClient } from "graphql-ws";
import WebSocket from "ws";

export interface Closed {
  code: number;
  reason: string;
}

/** A real graphql-ws client that never retries, and records how its socket closed. */
export function wsClient(wsUrl: string, key: string | undefined): { client: Client; closed: Promise<Closed> } {
  let resolveClosed!: (c: Closed) => void;
  const closed = new Promise<Closed>((r) => (resolveClosed = r));
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    connectionParams: key ? { authorization: `Bearer ${key}` } : {},
    on: {
      closed: (event) => {
        const e = event as { code: number; reason: string };
        resolveClosed({ code: e.code, reason: String(e.reason) });
      },
    },
    onNonLazyError: () => undefined,
  });
  return { client, closed };
}

/** Subscribes and collects every result until disposed; `next(n)` waits for n results. */
export function collect<T = any>(client: Client, query: string, variables?: Record<string, unknown>, operationName?: string) {
  const results: Array<{ data?: T; errors?: unknown[] }> = [];
  const waiters: Array<() => void> = [];
  let error: unknown;
  let completed = false;
  const dispose = client.subscribe<T>(
    { query, variables, operationName },
    {
      next: (r) => {
        results.push(r as { data?: T; errors?: unknown[] });
        waiters.forEach((w) => w());
      },
      error: (e) => {
        error = e;
        waiters.forEach((w) => w());
      },
      complete: () => {
        completed = true;
        waiters.forEach((w) => w());
      },
    },
  );
  return {
    results,
    get error() {
      return error;
    },
    get completed() {
      return completed;
    },
    dispose,
    async until(pred: () => boolean, timeoutMs = 5_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out; results so far: ${JSON.stringify(results)} error: ${String(error)}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The server's count of active graphql-ws subscriptions, read from GET /metrics. */
export async function activeSubscriptions(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const m = /^vigil_ws_subscriptions (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/** Waits until the server reports at least `n` active subscriptions (so events will reach them). */
export async function waitForSubscriptions(baseUrl: string, n: number, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await activeSubscriptions(baseUrl)) < n) {
    if (Date.now() > deadline) throw new Error(`server never reported ${n} active subscriptions`);
    await sleep(20);
  }
}
