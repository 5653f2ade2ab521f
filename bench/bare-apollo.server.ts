import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { expressMiddleware } from "@as-integrations/express5";
import express from "express";
import { ALL_SCOPES } from "../src/domain/auth/scopes";
import { expressServer } from "../src/server/http";

/**
 * The baseline for bench/viewer.bench.ts and bench/registry.bench.ts: Apollo Server 5 on express 5
 * with the same JSON body parser as Vigil, served as Vigil serves it (expressServer: node:http makes
 * requests with express's prototypes), and nothing else (no auth, no request logging, no database,
 * no plugins but the drain). It answers `viewer` with a constant shaped like Vigil's answer for a tenant key, so both
 * servers serialise a response of about the same size.
 *
 * Run as its own process (`node dist/bench/bare-apollo.server.js`) so that it does not share an
 * event loop with the load generator. Listens on PORT (0: any) at 127.0.0.1, prints
 * `BARE_APOLLO_READY <port>` on stdout when it accepts requests, and exits on SIGTERM/SIGINT.
 */

const typeDefs = /* GraphQL */ `
  type Query {
    viewer: Viewer
  }
  type Viewer {
    platformAdmin: Boolean!
    scopes: [String!]!
    tenant: T
  }
  type T {
    id: ID!
    slug: String!
  }
`;

const VIEWER = Object.freeze({
  platformAdmin: false,
  scopes: [...ALL_SCOPES],
  tenant: { id: "00000000-0000-4000-8000-000000000000", slug: "bench-0123456789" },
});

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? "0");
  const { app, server: httpServer } = expressServer();
  const apollo = new ApolloServer({
    typeDefs,
    resolvers: { Query: { viewer: () => VIEWER } },
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: 2_000 })],
  });
  await apollo.start();

  app.disable("x-powered-by");
  // Vigil's default MAX_BODY_BYTES is 8 MiB; the limit only matters for oversized bodies.
  app.use("/graphql", express.json({ limit: 8 * 1024 * 1024 }), expressMiddleware(apollo));

  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(port, "127.0.0.1", () => resolve());
  });
  process.stdout.write(`BARE_APOLLO_READY ${(httpServer.address() as AddressInfo).port}\n`);

  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(1);
    stopping = true;
    apollo.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`bare Apollo server failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
