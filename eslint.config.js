// @ts-check
/**
 * ESLint flat config (ESLint 10, typescript-eslint 8), CommonJS because package.json has no "type".
 *
 * Typed linting through the TypeScript project service: every linted file must belong to
 * tsconfig.json (src, test, bench, scripts). The rules beyond `recommended` are the async-safety
 * and layering ones from STYLE.md: no floating promises, type-only imports marked inline, and
 * process.env read only by src/config (the rest of the code receives a typed Config).
 */
const js = require("@eslint/js");
const { defineConfig } = require("eslint/config");
const tseslint = require("typescript-eslint");

module.exports = defineConfig(
  {
    ignores: ["dist/", "node_modules/", "coverage/", "data/", ".bench-out/", "eslint.config.js", "jest.config.js"],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: __dirname,
      },
    },
    linterOptions: {
      reportUnusedDisableDirectives: "error",
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/consistent-type-imports": [
        "error",
        { prefer: "type-imports", fixStyle: "inline-type-imports" },
      ],
      "no-unused-vars": "off",
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          caughtErrorsIgnorePattern: "^_",
          destructuredArrayIgnorePattern: "^_",
          ignoreRestSiblings: true,
        },
      ],
      "no-restricted-properties": [
        "error",
        {
          object: "process",
          property: "env",
          message: "Read configuration through src/config (loadConfig) and pass the typed Config down.",
        },
      ],
    },
  },
  {
    // Test helpers return GraphQL response bodies as untyped JSON (`gql<T = any>`) so that each
    // test can destructure the fields it asked for; the tests check the shape at run time.
    files: ["test/**"],
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
    },
  },
  {
    // The config module is the one reader of the environment; tests, benchmarks and scripts are
    // entry points of their own (they choose DATABASE_URL, log levels, output paths).
    files: ["src/config/**", "test/**", "bench/**", "scripts/**"],
    rules: {
      "no-restricted-properties": "off",
    },
  },
);
