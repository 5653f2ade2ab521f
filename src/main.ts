import { buildApp } from "./app";
import { ConfigError, loadConfig } from "./config";

/** Process entry: the only place that reads the environment and the only exit. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const app = buildApp(config);
  const started = await app.start();
  if (started.generatedAdminKey) {
    process.stdout.write(
      `\nA platform admin key was generated for this new database. It is shown only this once:\n\n` +
        `    ${started.generatedAdminKey}\n\n` +
        `Keep it safe; use it as "Authorization: Bearer <key>" to create tenants and their keys.\n`,
    );
  }
  // Last, so that whoever waits for this line has everything printed before it.
  process.stdout.write(`\nVigil is ready at ${started.url}\n`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      app.log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    app.log.info({ signal }, "signal received");
    app.stop().then(
      () => process.exit(0),
      (err) => {
        app.log.error({ err }, "error during shutdown");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((err) => {
  process.stderr.write(`Vigil failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
