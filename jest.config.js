/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // Leader failover needs two processes on one database: PostgreSQL only (the embedded database
  // belongs to one process, always its leader; test/int/leader.test.ts covers that on both).
  testPathIgnorePatterns: ["/node_modules/", ...(process.env.DATABASE_URL ? [] : ["/test/e2e/leader\\.test\\.ts$"])],
  // transpile only (no type check per file): `npm run check:types` type-checks the whole tree once
  transform: { "^.+\\.ts$": ["ts-jest", { isolatedModules: true, tsconfig: "tsconfig.json" }] },
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  testTimeout: 60_000,
  maxWorkers: 2,
  detectOpenHandles: false,
};
