import "reflect-metadata";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { type App, buildApp } from "../../src/app";
import { type Config, loadConfig } from "../../src/config";
import { type Logger, createLogger } from "../../src/lib/logger";
import { DATABASE_URL, TEMPLATE_DIR, TEST_ADMIN_KEY, freshTempDir, randomLockKey } from "./env";

export interface TestServer {
  app: App;
  url: string;
  wsUrl: string;
  baseUrl: string;
  adminKey: string;
  config: Config;
  stop(): Promise<void>;
}

/**
 * The real server (buildApp, real HTTP and WebSocket on a loopback port) on the run's database.
 * Embedded runs get their own copy of the migrated template directory, or `dataDir` to reuse one.
 */
export async function startServer(
  env: Record<string, string> = {},
  dataDir?: string,
  logger?: Logger,
): Promise<TestServer> {
  const dir = dataDir ?? join(freshTempDir("data"), "db");
  if (!DATABASE_URL && !dataDir) cpSync(TEMPLATE_DIR, dir, { recursive: true });
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    VIGIL_ADMIN_KEY: TEST_ADMIN_KEY,
    DATA_DIR: dir,
    ...(DATABASE_URL ? { DATABASE_URL, DATABASE_POOL_SIZE: "4" } : {}),
    // The registry sweep works across tenants: on a shared PostgreSQL database one suite's
    // background sweep would claim another suite's health checks. Tests drive it themselves
    // (app.jobs.registrySweep with explicit times); a suite may turn it back on through `env`.
    REGISTRY_SWEEP_INTERVAL_MS: "3600000",
    // Rule evaluation too: tests evaluate at explicit times (app.jobs.evaluateRules).
    RULES_TICK_MS: "3600000",
    // And notification delivery, which claims due deliveries of every tenant (app.jobs.deliverNotifications).
    NOTIFY_INTERVAL_MS: "600000",
    // Each server leads alone: a lock key of its own, so that on the shared PostgreSQL database no
    // server waits for another suite's to run its background jobs. A test may pass one to share it.
    LEADER_LOCK_KEY: randomLockKey(),
    ...env,
  });
  const app = buildApp(config, logger ?? createLogger(config.logLevel));
  const started = await app.start();
  const baseUrl = `http://127.0.0.1:${started.port}`;
  return {
    app,
    config,
    url: `${baseUrl}/graphql`,
    wsUrl: `ws://127.0.0.1:${started.port}/graphql`,
    baseUrl,
    adminKey: TEST_ADMIN_KEY,
    stop: () => app.stop(),
  };
}
