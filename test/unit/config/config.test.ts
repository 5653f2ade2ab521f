import { ConfigError, loadConfig } from "../../../src/config";

describe("loadConfig", () => {
  it("needs nothing: embedded database in ./data on port 4000 with introspection on", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 4000,
      host: "0.0.0.0",
      database: { kind: "embedded", dataDir: "./data" },
      adminKey: undefined,
      logLevel: "info",
      introspection: true,
    });
  });

  it("uses PostgreSQL when DATABASE_URL is set", () => {
    expect(loadConfig({ DATABASE_URL: "postgres://u@h:5432/db", DATABASE_POOL_SIZE: "7" }).database).toEqual({
      kind: "postgres",
      url: "postgres://u@h:5432/db",
      poolSize: 7,
    });
  });

  it.each([
    ["INTROSPECTION", "false", (c: ReturnType<typeof loadConfig>) => c.introspection, false],
    ["INTROSPECTION", "1", (c: ReturnType<typeof loadConfig>) => c.introspection, true],
    ["PORT", "0", (c: ReturnType<typeof loadConfig>) => c.port, 0],
    ["MAX_BODY_BYTES", "2048", (c: ReturnType<typeof loadConfig>) => c.limits.maxBodyBytes, 2048],
  ])("parses %s=%s", (name, value, get, expected) => {
    expect(get(loadConfig({ [name]: value }))).toBe(expected);
  });

  it("reports every wrong variable at once, by name", () => {
    let err: unknown;
    try {
      loadConfig({ PORT: "70000", INTROSPECTION: "maybe", VIGIL_ADMIN_KEY: "short", DATABASE_URL: "mysql://x" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join("\n");
    expect(problems).toContain("PORT: must be an integer from 0 to 65535");
    expect(problems).toContain("INTROSPECTION: must be one of");
    expect(problems).toContain("VIGIL_ADMIN_KEY: must be at least 32 characters");
    expect(problems).toContain("DATABASE_URL: must be a postgres://");
  });
});
