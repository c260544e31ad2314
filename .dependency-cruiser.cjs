// The layering of src/ and checks/, read top to bottom (docs/architecture.md):
//   src/cli.ts → src/commands/* → the run API (src/run.ts, src/runner.ts) and the features
//   (src/exporter, src/compare, src/kit, src/report, src/serve) → checks/ → src/probes/ → src/model.ts
// Run by `npm test` (pretest): `depcruise src checks --config .dependency-cruiser.cjs` fails on any violation.
// Type-only imports count (tsPreCompilationDeps), so a circle made only of types is still a circle.

/** Modules a probe may import besides other probes: the model and leaf utilities that import nothing of ours. */
const PROBE_MAY_IMPORT = '^src/(probes/|model[.]ts$|inert[.]ts$|redact[.]ts$)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'An import circle (type imports included): none of its files can be read or changed alone. Move what ' +
        'they share into a module that imports none of them.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'commands-only-from-cli',
      severity: 'error',
      comment:
        'src/commands/* is argument handling for the CLI: only src/cli.ts imports a command. What a command ' +
        'shares with others (the run API, Io, useColor) lives below, in src/run.ts or a feature.',
      from: { pathNot: '^src/cli[.]ts$' },
      to: { path: '^src/commands/' },
    },
    {
      name: 'nothing-imports-the-cli',
      severity: 'error',
      comment: 'src/cli.ts is the top: nothing in src/ or checks/ imports it.',
      from: {},
      to: { path: '^src/cli[.]ts$' },
    },
    {
      name: 'probes-stay-low',
      severity: 'error',
      comment:
        'A probe imports only other probes, src/model.ts and the leaf utilities src/inert.ts and ' +
        'src/redact.ts: never a check, a command, the run API or a feature (report, exporter, kit, compare, serve).',
      from: { path: '^src/probes/' },
      to: { path: '^(src|checks)/', pathNot: PROBE_MAY_IMPORT },
    },
    {
      name: 'checks-below-the-run',
      severity: 'error',
      comment:
        'checks/ sit below the run API and the features: a check never imports a command, the CLI, ' +
        'src/run.ts, src/runner.ts or a feature (report, exporter, kit, compare, serve).',
      from: { path: '^checks/' },
      to: {
        path: '^src/(commands/|report/|exporter/|kit/|compare/|serve/|run[.]ts$|runner[.]ts$|cli[.]ts$)',
      },
    },
    {
      name: 'model-is-the-floor',
      severity: 'error',
      comment: 'src/model.ts is the bottom layer: it imports nothing in the project.',
      from: { path: '^src/model[.]ts$' },
      to: { path: '^(src|checks)/' },
    },
    {
      name: 'leaf-utilities-stay-leaves',
      severity: 'error',
      comment:
        'src/inert.ts and src/redact.ts are the leaf utilities probes may import: they import nothing ' +
        'in the project, so the probes stay at the bottom.',
      from: { path: '^src/(inert|redact)[.]ts$' },
      to: { path: '^(src|checks)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    reporterOptions: { text: { highlightFocused: true } },
  },
};
