/**
 * The module graph's rules (docs/architecture.md, "Dependency rules"), checked on the TypeScript
 * sources by `scripts/test.sh` (`npm run check:deps`). Type-only imports count like any other.
 *
 * Services: protocol, poolmgr, gateway, controlplane, platform, cli — each one folder with one
 * door, its index.ts. Layers, lowest first (a service imports only services below it):
 *   protocol ← poolmgr ← gateway ← controlplane ← platform ← cli
 * Tests, bench and scripts may import anything, but take part in the cycle check.
 */
const SERVICES = '(protocol|poolmgr|gateway|controlplane|platform|cli)';
/** Loaded by the bundle worker threads (controlplane/bundles/pool.ts): kept light, see their rule. */
const WORKER_THREAD_MODULES = '^controlplane/bundles/(worker|paths|check)\\.ts$';
/** Loaded by every CLI command, `--version` included, which must not load zod (test/e2e/cli.test.ts): kept light, see their rule. */
const CLI_START_MODULES = '^cli/terminal\\.ts$';

/** A rule forbidding `from` to import any of `above`. */
const noUpward = (from, above) => ({
  name: `layers-${from}`,
  comment: `${from} may not import ${above.join(', ')}: nothing imports upward (protocol ← poolmgr ← gateway ← controlplane ← platform ← cli)`,
  severity: 'error',
  from: { path: `^${from}/` },
  to: { path: `^(${above.join('|')})/` },
});

export default {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles, type-only imports included.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'one-door-per-service',
      comment: "A service reaches another only through its door, <service>/index.ts, never into its files.",
      severity: 'error',
      from: { path: `^${SERVICES}/`, pathNot: [WORKER_THREAD_MODULES, CLI_START_MODULES] },
      to: { path: `^${SERVICES}/`, pathNot: [`^$1/`, `^${SERVICES}/index\\.ts$`] },
    },
    {
      name: 'worker-threads-import-leaves',
      comment: 'Modules that run in the bundle worker threads import single protocol files (leaves), not the door: each thread would load all of protocol (msgpackr, zod) at start.',
      severity: 'error',
      from: { path: WORKER_THREAD_MODULES },
      to: { path: `^${SERVICES}/`, pathNot: ['^controlplane/bundles/', '^protocol/(json-text|file-names|units|errors)\\.ts$'] },
    },
    {
      name: 'cli-start-imports-leaves',
      comment: "Modules every CLI command loads import single protocol files (leaves), not the door: protocol's door loads zod, which `--version` must not.",
      severity: 'error',
      from: { path: CLI_START_MODULES },
      to: { path: `^${SERVICES}/`, pathNot: ['^cli/', '^protocol/visible-text\\.ts$'] },
    },
    noUpward('protocol', ['poolmgr', 'gateway', 'controlplane', 'platform', 'cli']),
    noUpward('poolmgr', ['gateway', 'controlplane', 'platform', 'cli']),
    noUpward('gateway', ['controlplane', 'platform', 'cli']),
    noUpward('controlplane', ['platform', 'cli']),
    noUpward('platform', ['cli']),
    {
      name: 'async-wing-one-door',
      comment: 'Outside controlplane/async/, the async wing is reached only through controlplane/async/index.ts.',
      severity: 'error',
      from: { path: '^controlplane/', pathNot: '^controlplane/async/' },
      to: { path: '^controlplane/async/', pathNot: '^controlplane/async/index\\.ts$' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'Every import resolves (a typo in a path fails here, not at run time).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // An ESM project: resolve packages as Node's `import` does (uWebSockets.js, from uws-pack,
    // exports only an `import` condition).
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'node', 'default'] },
  },
};
