import js from "@eslint/js";
import { createNodeResolver, importX } from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

/**
 * The layers of src/, lowest first. A module may import from its own folder and from the layers
 * below it, never from a layer above, nor from a sibling in its own layer (sources and targets do not
 * know each other; fetch and plan neither; apply and state neither). The flow reads upwards: the
 * adapters, the config that collects them, fetch shifts, plan, apply (targets), record (state),
 * report, then the commands and the entry point that wire them together.
 *
 *   core       pure rules every layer uses: time, identity, redaction, the pieces config keys are
 *              made of (fields.ts); errors.ts, version.ts
 *   infra      the outside world: http, exec, log, pool
 *   sources    one folder per source type     targets    one folder per target type
 *   notify     one folder per notification channel type (slack, webhook), and the events they carry
 *              Each folder declares its own config (schema, defaults, normalisation) beside its
 *              runtime, and index.ts registers them: the adapters sit below the config, which
 *              only collects what they declare.
 *   config     read, check and normalise the config; the schema is assembled from the registries
 *   fetch      every rule's shifts from its source      plan    pure: shifts + ledger + now -> actions
 *   apply      run the actions         state      ledger, lock, audit log, metrics
 *   deliver    the events a run tells of, and their delivery through the channels
 *   report     the report model; text table, timeline, JSON
 *   commands   one file per command (and context.ts, what they share); no command imports another;
 *              beside them help.ts, the help text
 *   main       parse argv, run a command, turn errors into exit codes (main.ts)
 *   cli        the process: signals, stdout, exit code (cli.ts)
 */
const LAYERS = [
  ["src/core", "src/errors.ts", "src/version.ts"],
  ["src/infra"],
  ["src/sources", "src/targets", "src/notify"],
  ["src/config"],
  ["src/fetch", "src/plan"],
  ["src/apply", "src/state"],
  ["src/deliver"],
  ["src/report"],
  ["src/commands", "src/help.ts"],
  ["src/main.ts"],
  ["src/cli.ts"],
];

const layerZones = LAYERS.flatMap((layer, i) =>
  layer
    .map((target) => ({
      target,
      from: [...LAYERS.slice(i + 1).flat(), ...layer.filter((peer) => peer !== target)],
      message: "a lower layer imports a higher one, or a sibling (see the layers in eslint.config.js)",
    }))
    .filter((zone) => zone.from.length > 0),
);

const commandZone = {
  target: "src/commands",
  from: "src/commands",
  except: ["./context.ts"],
  message: "a command imports another command: move what they share to a lower layer",
};

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: {
        process: "readonly",
        console: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        URL: "readonly",
        fetch: "readonly",
        performance: "readonly",
      },
    },
    plugins: { "import-x": importX },
    settings: {
      "import-x/extensions": [".ts", ".js", ".mjs"],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
      // Imports name the built file (`./plan.js`); the resolver finds the source beside it.
      "import-x/resolver-next": [
        createNodeResolver({ extensions: [".ts", ".js", ".mjs"], extensionAlias: { ".js": [".ts", ".js"] } }),
      ],
    },
    rules: {
      // Control characters in regexes are deliberate here: they are what we strip from untrusted text.
      "no-control-regex": "off",
      "no-console": "error",
      // An implementation of a Promise-returning interface (a target, a fake) is `async` even when it
      // has nothing to wait for, so that a throw inside it becomes a rejection like any other.
      "@typescript-eslint/require-await": "off",
      // node:test's describe/it return promises that the runner itself tracks.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["describe", "it", "test", "suite"] },
          ],
        },
      ],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": [
        "error",
        { prefer: "type-imports", fixStyle: "separate-type-imports" },
      ],
      "no-restricted-syntax": [
        "error",
        { selector: "TSEnumDeclaration", message: "Use a union of string literals instead of an enum." },
        { selector: "ExportDefaultDeclaration", message: "Use named exports only." },
      ],
    },
  },
  {
    files: ["src/**/*.ts"],
    rules: {
      "import-x/no-cycle": "error",
      "import-x/no-restricted-paths": ["error", { zones: [...layerZones, commandZone] }],
    },
  },
  {
    // The process entry and the tools around the program talk to the terminal directly; tests may
    // print what they measured. The program itself writes through its logger and output streams.
    files: ["src/cli.ts", "bin/**", "scripts/**", "bench/**", "examples/**", "test/**", "src/**/*.test.ts"],
    rules: { "no-console": "off" },
  },
  {
    // Plain JavaScript files are outside the TypeScript project: lint them without type information.
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ["eslint.config.js"],
    rules: { "no-restricted-syntax": "off" },
  },
);
