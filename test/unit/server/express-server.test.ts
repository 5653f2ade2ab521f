import { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { expressServer } from "../../../src/server/http";

describe("expressServer", () => {
  it("creates every request and response with the app's own prototypes, so express never has to change one", async () => {
    const { app, server } = expressServer();
    const arrived: Array<{ req: object | null; res: object | null }> = [];
    // before express's own listener: what node:http made
    server.prependListener("request", (req, res) => arrived.push({ req: Object.getPrototypeOf(req), res: Object.getPrototypeOf(res) }));
    const inHandler: Array<{ req: object | null; res: object | null }> = [];
    app.get("/probe", (req, res) => {
      inHandler.push({ req: Object.getPrototypeOf(req), res: Object.getPrototypeOf(res) });
      // express's request and response helpers work, and these are still node:http's objects
      res.status(201).json({ ua: req.get("x-probe"), isIncoming: req instanceof IncomingMessage, isResponse: res instanceof ServerResponse });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/probe`, { headers: { "x-probe": `p${i}` } });
        expect(res.status).toBe(201);
        expect(await res.json()).toEqual({ ua: `p${i}`, isIncoming: true, isResponse: true });
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    // express's app.handle sets these very prototypes: a change of nothing
    expect(arrived).toEqual(Array(3).fill({ req: app.request, res: app.response }));
    expect(inHandler).toEqual(arrived);
    expect(arrived[0]!.req).not.toBe(IncomingMessage.prototype);
  });
});
