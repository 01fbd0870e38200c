// Builds one Node.js-style Lambda handler into a wasmfn component.
//
//   node build.mjs --entry FILE --out FILE.wasm --inputs FILE.json [--node-path DIR]...
//
// The export is not part of the build: the shim finds it at init from
// `_HANDLER`, as AWS's runtime does.
//
// 1. esbuild bundles shim.js with the user's file (its `node_modules`, and
//    `require` of layer modules under `--node-path` directories), keeping
//    the user's module lazy so that its scope runs at init.
// 2. componentize-js turns the bundle into a component of the
//    `wasmfn:js-handler/handler` world in wit/.
//
// `--inputs` receives the user's files that went into the bundle, so that
// the host can tell, without running node, whether a rebuild is needed.
//
// Exit status: 0 built; 3 the user's code does not bundle (a syntax error,
// a missing module: printed as `file:line:col: message`); 4 componentize
// failed; 2 bad arguments.
import { build } from 'esbuild';
import { componentize } from '@bytecodealliance/componentize-js';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    entry: { type: 'string' },
    out: { type: 'string' },
    inputs: { type: 'string' },
    'node-path': { type: 'string', multiple: true, default: [] },
  },
});
if (!args.entry || !args.out || !args.inputs) {
  console.error('usage: node build.mjs --entry FILE --out FILE.wasm --inputs FILE.json [--node-path DIR]...');
  process.exit(2);
}
const entry = resolve(args.entry);

// componentize-js works in os.tmpdir() and leaves its directory behind when
// it fails; keep that inside the toolchain's own directory.
process.env.TMPDIR = join(here, 'tmp');
await mkdir(process.env.TMPDIR, { recursive: true });
const work = await mkdtemp(join(process.env.TMPDIR, 'build-'));
// Stack frames name the bundle by its file name.
const bundle = join(work, 'index.js');

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);
let result;
try {
  result = await build({
    entryPoints: [join(here, 'shim.js')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    // Pure-JS packages' browser builds use the web APIs the engine has.
    mainFields: ['browser', 'module', 'main'],
    conditions: ['browser', 'import', 'require', 'default'],
    alias: {
      'wasmfn-user-handler': entry,
      buffer: join(here, 'node_modules/buffer/index.js'),
      util: join(here, 'node_modules/util/util.js'),
      'node:buffer': join(here, 'node_modules/buffer/index.js'),
      'node:util': join(here, 'node_modules/util/util.js'),
    },
    nodePaths: args['node-path'],
    // The world's imports, and Node's other built-ins: the shim's `require`
    // answers those at run time with Runtime.ImportModuleError.
    external: ['wasi:*', 'wasmfn:*', ...nodeBuiltins.filter((m) => !/^(node:)?(buffer|util)$/.test(m))],
    outfile: bundle,
    metafile: true,
    // Mapped back to the user's files for stack traces (below).
    sourcemap: 'external',
    sourcesContent: false,
    logLevel: 'silent',
  });
} catch (e) {
  for (const error of e.errors ?? [{ text: String(e) }]) {
    const at = error.location;
    const where = at ? `${at.file}:${at.line}:${at.column + 1}: ` : '';
    console.error(`${where}${error.text}`);
    if (at?.lineText) console.error(`    ${at.lineText}`);
  }
  await rm(work, { recursive: true, force: true });
  process.exit(3);
}

// The user's inputs: everything bundled that is not the toolchain's own.
const inputs = Object.keys(result.metafile.inputs)
  .map((p) => resolve(p))
  .filter((p) => !p.startsWith(here + '/'))
  .sort();
await writeFile(args.inputs, JSON.stringify(inputs));

// Stack traces name the user's files and lines, not the bundle's: the
// mappings of the user's code ride along at the end of the bundle (so no
// line of the bundle moves), and the shim applies them to each frame.
const taskRoot = dirname(entry);
const map = JSON.parse(await readFile(`${bundle}.map`, 'utf8'));
const userSources = map.sources.map((s) => {
  const path = resolve(work, s);
  return path.startsWith(here + '/') ? null : `/var/task/${relative(taskRoot, path)}`;
});
await appendFile(bundle, `\nglobalThis.__wasmfnSourceMap = ${JSON.stringify({
  sources: userSources,
  lines: userLines(map.mappings, userSources),
})};\n`);

const cwd = process.cwd();
// componentize-js names the source after its path relative to the cwd.
process.chdir(work);
try {
  const { component } = await componentize({
    sourcePath: bundle,
    witPath: join(here, 'wit'),
    worldName: 'wasmfn:js-handler/handler',
    // The handler world exports no wasi:http incoming handler.
    disableFeatures: ['fetch-event'],
  });
  process.chdir(cwd);
  await writeFile(resolve(args.out), component);
} catch (e) {
  console.error(`componentize-js failed: ${e?.stack ?? e}`);
  process.exit(4);
} finally {
  process.chdir(cwd);
  await rm(work, { recursive: true, force: true });
}

// A source map's `mappings` as `{line: [[column, source, line, column], ...]}`
// (all 0-based), for the segments in the user's sources only.
function userLines(mappings, sources) {
  const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const lines = {};
  let [source, line, column] = [0, 0, 0];
  mappings.split(';').forEach((text, generatedLine) => {
    let generatedColumn = 0;
    for (const segment of text.split(',')) {
      if (!segment) continue;
      const fields = [];
      let value = 0;
      let shift = 0;
      for (const ch of segment) {
        const digit = digits.indexOf(ch);
        value += (digit & 31) << shift;
        if (digit & 32) {
          shift += 5;
        } else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      generatedColumn += fields[0];
      if (fields.length < 4) continue;
      source += fields[1];
      line += fields[2];
      column += fields[3];
      if (sources[source] === null) continue;
      (lines[generatedLine] ??= []).push([generatedColumn, source, line, column]);
    }
  });
  return lines;
}
