// Builds the JavaScript engine component, or one Node.js-style Lambda
// handler's bundle for it.
//
//   node build.mjs --engine --out FILE.wasm
//   node build.mjs --entry FILE --out DIR --inputs FILE.json [--node-path DIR]...
//
// The engine (engine.js, with the `buffer` and `util` packages, through
// componentize-js) is one component for every JavaScript function; it is
// built once per toolchain. A function is only its bundle: esbuild bundles
// the user's file with its `node_modules` dependencies and `require` of
// layer modules (`--node-path` directories) into DIR/index.js, a CommonJS
// module that the engine evaluates at init, and writes the mappings of the
// user's code to DIR/index.map.json for stack traces. The export is not
// part of the build: the engine finds it at init from `_HANDLER`, as AWS's
// runtime does.
//
// `--inputs` receives the user's files that went into the bundle, so that
// the host can tell, without running node, whether a rebuild is needed.
//
// Exit status: 0 built; 3 the user's code does not bundle (a syntax error,
// a missing module: printed as `file:line:col: message`); 4 componentize
// failed; 2 bad arguments.
import { build } from 'esbuild';
import { componentize } from '@bytecodealliance/componentize-js';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    engine: { type: 'boolean', default: false },
    entry: { type: 'string' },
    out: { type: 'string' },
    inputs: { type: 'string' },
    'node-path': { type: 'string', multiple: true, default: [] },
  },
});
if (args.engine ? !args.out : !args.entry || !args.out || !args.inputs) {
  console.error('usage: node build.mjs --engine --out FILE.wasm | --entry FILE --out DIR --inputs FILE.json [--node-path DIR]...');
  process.exit(2);
}
process.exit(args.engine ? await buildEngine(resolve(args.out)) : await buildFunction(resolve(args.entry), resolve(args.out)));

// componentize-js works in os.tmpdir() and leaves its directory behind when
// it fails; keep that inside the toolchain's own directory.
async function workDir() {
  process.env.TMPDIR = join(here, 'tmp');
  await mkdir(process.env.TMPDIR, { recursive: true });
  return mkdtemp(join(process.env.TMPDIR, 'build-'));
}

async function buildEngine(out) {
  const work = await workDir();
  const source = join(work, 'engine.js');
  try {
    await build({
      entryPoints: [join(here, 'engine.js')],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      mainFields: ['browser', 'module', 'main'],
      alias: {
        buffer: join(here, 'node_modules/buffer/index.js'),
        util: join(here, 'node_modules/util/util.js'),
      },
      external: ['wasi:*', 'wasmfn:*'],
      outfile: source,
      logLevel: 'error',
    });
    const cwd = process.cwd();
    // componentize-js names the source after its path relative to the cwd.
    process.chdir(work);
    try {
      const { component } = await componentize({
        sourcePath: source,
        witPath: join(here, 'wit'),
        worldName: 'wasmfn:js-handler/handler',
        // The handler world exports no wasi:http incoming handler.
        disableFeatures: ['fetch-event'],
      });
      await writeFile(out, component);
    } finally {
      process.chdir(cwd);
    }
    return 0;
  } catch (e) {
    console.error(`building the JavaScript engine failed: ${e?.stack ?? e}`);
    return 4;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function buildFunction(entry, out) {
  const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);
  const bundle = join(out, 'index.js');
  await mkdir(out, { recursive: true });
  let result;
  try {
    result = await build({
      entryPoints: [entry],
      bundle: true,
      // Evaluated by the engine inside a CommonJS wrapper.
      format: 'cjs',
      // Packages' browser builds use the web APIs the engine has (fetch,
      // Web Crypto), and the `browser` field's file maps pick them (the
      // AWS SDK's runtimeConfig.browser.js, bcryptjs without `crypto`).
      platform: 'browser',
      target: 'es2022',
      mainFields: ['browser', 'module', 'main'],
      conditions: ['browser', 'import', 'require', 'default'],
      nodePaths: args['node-path'],
      // Node's built-ins and the WIT interfaces are the engine's `require`:
      // `buffer`, `util` and the key-value stores are there, the others
      // answer Runtime.ImportModuleError at run time.
      external: [...nodeBuiltins, 'wasi:*', 'wasmfn:*'],
      outfile: bundle,
      metafile: true,
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
    return 3;
  }

  // The user's inputs: everything bundled.
  const inputs = Object.keys(result.metafile.inputs)
    .map((p) => resolve(p))
    .sort();
  await writeFile(args.inputs, JSON.stringify(inputs));

  // Stack traces name the user's files and lines, not the bundle's: the
  // engine applies these mappings to each frame of the bundle.
  const taskRoot = dirname(entry);
  const map = JSON.parse(await readFile(`${bundle}.map`, 'utf8'));
  await rm(`${bundle}.map`, { force: true });
  const sources = map.sources.map((s) => `/var/task/${relative(taskRoot, resolve(out, s))}`);
  await writeFile(join(out, 'index.map.json'), JSON.stringify({ sources, lines: userLines(map.mappings) }));
  return 0;
}

// A source map's `mappings` as `{line: [[column, source, line, column], ...]}`
// (all 0-based).
function userLines(mappings) {
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
      (lines[generatedLine] ??= []).push([generatedColumn, source, line, column]);
    }
  });
  return lines;
}
