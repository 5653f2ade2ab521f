import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";

/**
 * The baseline for bench/ws.bench.ts: a bare `ws` 8 server (same library and defaults Vigil's
 * graphql-ws server runs on: no per-message deflate) that broadcasts a frame to every open socket.
 * No protocol, no auth, no GraphQL: the cost of the sockets and of writing the same bytes to each.
 *
 * Run as its own process: listens on PORT at 127.0.0.1 and prints `WS_RAW_READY <port>`.
 * - `POST /broadcast` with the payload as body: sends it (as a text frame) to every socket, then
 *   answers 204. The payload is the exact text a Vigil subscriber received, so frames are equal.
 * - `GET /stats`: `{ sockets, memory }` (process.memoryUsage()).
 * Exits on SIGTERM/SIGINT.
 */

const server = createServer((req, res) => {
  if (req.method === "POST" && req.url === "/broadcast") {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const payload = Buffer.concat(chunks).toString("utf8");
      for (const socket of wss.clients) {
        if (socket.readyState === socket.OPEN) socket.send(payload);
      }
      res.writeHead(204).end();
    });
    return;
  }
  if (req.method === "GET" && req.url === "/stats") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ sockets: wss.clients.size, memory: process.memoryUsage() }));
    return;
  }
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ server, path: "/ws" });
wss.on("connection", (socket) => socket.on("error", () => undefined));

server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  process.stdout.write(`WS_RAW_READY ${(server.address() as AddressInfo).port}\n`);
});

const stop = () => {
  for (const socket of wss.clients) socket.terminate();
  wss.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
