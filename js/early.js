// Evaluated before the shim's other imports: the npm `util` package reads
// `process.env` at its module scope, which runs at build time, inside the
// snapshot. The shim installs the real `process` at init.
globalThis.process ??= { env: {} };
