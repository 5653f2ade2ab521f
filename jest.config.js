/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // transpile only (no type check per file): `npm run check:types` type-checks the whole tree once
  transform: { "^.+\\.ts$": ["ts-jest", { isolatedModules: true, tsconfig: "tsconfig.json" }] },
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  testTimeout: 60_000,
  maxWorkers: 2,
  detectOpenHandles: false,
};
