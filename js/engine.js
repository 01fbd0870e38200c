// The Node.js Lambda runtime contract on top of the wasmfn handler world.
//
// build.mjs turns this file (with the `buffer` and `util` packages) into
// one component, the engine, shared by every JavaScript function: the
// user's code is not in it. It exports the world's functions:
//
//   init()                   -> result<_, function-error>
//   handle(event, ctx)       -> result<list<u8>, function-error>
//   handle-stream(event, ctx) -> result<_, function-error>
//
// (`handle-stream` serves streamed invocations; see stream.js.)
//
// `init` takes the function's bundle, `/var/task/index.js`, from the host
// (`task.bundle`; the host mounts the function's build directory there,
// read-only, as Lambda mounts the function's code) and evaluates it as a
// CommonJS module, so module scope runs at init with the real environment,
// as on Lambda. `handle` turns a call into what AWS's Node.js runtime
// gives a handler: `event`, the `context` object, async and callback
// handlers, `process.env`, `console.*` as CloudWatch lines with their
// levels, and errors in Lambda's shape.
//
// componentize-js evaluates this module's top level at build time, inside
// the snapshot, where the environment and the clock are the build's and
// imports trap: only pure work happens there.
//
// Binding conventions of componentize-js 0.23: `list<u8>` arrives as a
// Uint8Array and is returned as one; records have lowerCamelCase fields
// (`deadlineMs` is a BigInt); a result is returned as `{tag, val}`. A thrown
// Error would trap the guest instead of becoming `err`, so nothing here
// lets one escape.

import './early.js';
import { getStdout } from 'wasi:cli/stdout@0.2.12';
import { getDirectories } from 'wasi:filesystem/preopens@0.2.12';
import { remainingTimeMs, writeResponse } from 'wasmfn:handler/runtime@0.2.0';
import { bundle, environment } from 'wasmfn:js-handler/task@0.1.0';
import * as keyvalueAtomics from 'wasi:keyvalue/atomics@0.2.0-draft';
import * as keyvalueStore from 'wasi:keyvalue/store@0.2.0-draft';
import { Buffer } from 'buffer';
import * as util from 'util';
import { isStreaming, runStreaming } from './stream.js';

// Pure globals are safe to create at build time.
globalThis.Buffer ??= Buffer;
globalThis.global ??= globalThis;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// The request id that console lines carry; `undefined` during init, as on
// Lambda.
let currentRequestId;

// Resources (descriptors, streams) are given back as soon as they are
// done with, not left to the garbage collector: a SnapStart snapshot is
// refused while the guest holds any.
const dispose = Symbol.dispose || Symbol.for('dispose');

// One line to stdout, on a stream fetched for it and given back: the
// engine's own console would keep libc's stdout stream open, which a
// snapshot taken after a module scope that logs could not hold.
function write(line) {
  const stdout = getStdout();
  try {
    const bytes = encoder.encode(line + '\n');
    for (let at = 0; at < bytes.length; at += 4096) {
      stdout.blockingWriteAndFlush(bytes.subarray(at, at + 4096));
    }
  } finally {
    stdout[dispose]?.();
  }
}

// console.* as AWS's Node.js runtime writes them: one call is one CloudWatch
// line, `timestamp<TAB>requestId<TAB>LEVEL<TAB>message`, printf-style
// formats applied, newlines inside a message kept in the one line (as
// carriage returns). The host passes lines in this shape through as they
// are.
function format(args) {
  // The common call, plain strings and numbers without a format directive,
  // skips util.format (which costs tens of microseconds in the engine's
  // interpreter).
  let plain = true;
  for (let i = 0; i < args.length && plain; i++) {
    const t = typeof args[i];
    plain = t === 'number' || (t === 'string' && (i > 0 || !args[i].includes('%')));
  }
  return plain ? args.join(' ') : util.format(...args);
}
function logAt(level) {
  return (...args) => {
    let message = format(args);
    // (A regular expression costs microseconds in the interpreter.)
    if (message.includes('\n')) message = message.split('\n').join('\r');
    write(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${message}`);
  };
}
console.log = logAt('INFO');
console.info = logAt('INFO');
console.warn = logAt('WARN');
console.error = logAt('ERROR');
console.debug = logAt('DEBUG');
console.trace = (...args) => {
  const stack = nodeFrames(new Error().stack).join('\n');
  logAt('TRACE')(`Trace: ${format(args)}\n${stack}`);
};

// Node's built-in modules that a bundle may `require` at run time. esbuild
// leaves `require` of a Node built-in to this function.
// Node's `crypto`, as far as the engine's Web Crypto reaches: random
// bytes and UUIDs, and `webcrypto` / `subtle`. What needs Node's own
// OpenSSL bindings says so and names the Web Crypto call to use instead.
function unavailable(name, instead) {
  return () => {
    throw new Error(`crypto.${name} is not available in wasmfn (it has no Node.js crypto bindings); use ${instead}`);
  };
}
const nodeCrypto = {
  webcrypto: globalThis.crypto,
  subtle: globalThis.crypto?.subtle,
  getRandomValues: (array) => globalThis.crypto.getRandomValues(array),
  randomUUID: () => globalThis.crypto.randomUUID(),
  randomBytes(size, callback) {
    const bytes = Buffer.alloc(size);
    for (let at = 0; at < size; at += 65536) {
      globalThis.crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65536)));
    }
    if (typeof callback !== 'function') return bytes;
    queueMicrotask(() => callback(null, bytes));
  },
  randomInt(min, max) {
    if (max === undefined) [min, max] = [0, min];
    const [word] = globalThis.crypto.getRandomValues(new Uint32Array(1));
    return min + (word % (max - min));
  },
  createHash: unavailable('createHash', 'crypto.subtle.digest'),
  createHmac: unavailable('createHmac', "crypto.subtle.sign('HMAC', ...)"),
  createCipheriv: unavailable('createCipheriv', 'crypto.subtle.encrypt'),
  createDecipheriv: unavailable('createDecipheriv', 'crypto.subtle.decrypt'),
  pbkdf2Sync: unavailable('pbkdf2Sync', "crypto.subtle.deriveBits({ name: 'PBKDF2', ... })"),
  scryptSync: unavailable('scryptSync', 'a pure-JS scrypt package'),
};

// The function's granted key-value stores (`keyValueStores` in the
// manifest) are the WIT interfaces, by their names:
// `require('wasi:keyvalue/store@0.2.0-draft').open('users')`.
const builtins = {
  buffer: { Buffer },
  crypto: nodeCrypto,
  util,
  'wasi:keyvalue/store@0.2.0-draft': keyvalueStore,
  'wasi:keyvalue/atomics@0.2.0-draft': keyvalueAtomics,
};
globalThis.require ??= (name) => {
  const bare = String(name).startsWith('node:') ? String(name).slice(5) : String(name);
  if (bare in builtins) return builtins[bare];
  const e = new Error(`Cannot find module '${name}': Node's built-in modules other than buffer, util and crypto (random bytes and Web Crypto) are not available in wasmfn`);
  e.name = 'Runtime.ImportModuleError';
  throw e;
};

// Node's `process`, with `env` parsed from the environment's JSON object
// (a plain object, as Node's `process.env` is one with Object's prototype).
function installProcess(envJson) {
  const env = JSON.parse(envJson);
  const started = Date.now();
  globalThis.process = {
    env,
    argv: ['/var/lang/bin/node', '/var/runtime/index.mjs'],
    platform: 'linux',
    arch: 'wasm32',
    version: 'v20.0.0',
    versions: { node: '20.0.0' },
    release: { name: 'node' },
    pid: 1,
    cwd: () => '/var/task',
    uptime: () => (Date.now() - started) / 1000,
    nextTick: (fn, ...args) => queueMicrotask(() => fn(...args)),
    hrtime: Object.assign(
      (prev) => {
        const ns = BigInt(Math.round(performance.now() * 1e6));
        const now = [Number(ns / 1000000000n), Number(ns % 1000000000n)];
        if (!prev) return now;
        let s = now[0] - prev[0];
        let n = now[1] - prev[1];
        if (n < 0) {
          s -= 1;
          n += 1e9;
        }
        return [s, n];
      },
      { bigint: () => BigInt(Math.round(performance.now() * 1e6)) },
    ),
    memoryUsage: () => ({ rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 }),
    on() {
      return this;
    },
    once() {
      return this;
    },
    off() {
      return this;
    },
    emitWarning: (w) => console.warn(String(w)),
    exit: (code) => {
      throw new Error(`process.exit(${code ?? ''}) was called`);
    },
  };
}

// The bundle's file name in stack frames.
const BUNDLE = '/var/task/index.js';

// The bundle's source map, reduced by build.mjs to the user's segments. It
// is read when a stack trace first needs it, not at init: most instances
// never format one.
let sourceMap;

function bundleMap() {
  if (sourceMap === undefined) {
    try {
      sourceMap = JSON.parse(readTask('index.map.json'));
    } catch {
      sourceMap = null;
    }
  }
  return sourceMap;
}

// Where a place in the bundle (1-based line and column) came from in the
// user's files, `/var/task/file.js:line:col`; `null` for code that is not
// the user's.
function userPlace(line, column) {
  const map = bundleMap();
  const segments = map?.lines[line - 1];
  if (!segments) return null;
  let found = null;
  for (const segment of segments) {
    if (segment[0] > column - 1) break;
    found = segment;
  }
  found ??= segments[0];
  return `${map.sources[found[1]]}:${found[2] + 1}:${found[3] + 1}`;
}

// SpiderMonkey's `name@index.js:line:col` as Node's
// `    at name (/var/task/file.js:line:col)`; `null` for a frame of the
// runtime's own code.
function nodeFrame(line) {
  const at = line.lastIndexOf('@');
  const where = at < 0 ? line : line.slice(at + 1);
  const place = /^(.*):(\d+):(\d+)$/.exec(where);
  const mapped = place?.[1] === BUNDLE && userPlace(Number(place[2]), Number(place[3]));
  if (!mapped) return null;
  // Names are inferred from the bundle's module wrappers; keep the last part.
  const name = at < 0 ? '' : line.slice(0, at).replace(/^.*\.[cm]?js\//, '');
  return name ? `    at ${name} (${mapped})` : `    at ${mapped}`;
}

function nodeFrames(stack) {
  return stack.split('\n').map((l) => l.trim()).filter(Boolean).map(nodeFrame).filter(Boolean);
}

// Lambda's shape for what a handler threw or rejected with.
function toFunctionError(err, errorType) {
  try {
    if (err instanceof Error || (err && typeof err === 'object' && 'message' in err)) {
      const frames = typeof err.stack === 'string' ? nodeFrames(err.stack) : [];
      const name = err.name ?? 'Error';
      return {
        errorType: String(errorType ?? name),
        errorMessage: String(err.message ?? ''),
        stackTrace: [`${name}: ${err.message ?? ''}`, ...frames],
      };
    }
    return { errorType: errorType ?? typeof err, errorMessage: String(err), stackTrace: [] };
  } catch {
    return { errorType: 'Error', errorMessage: 'the thrown value could not be formatted', stackTrace: [] };
  }
}

let handler = null;

// A file of the function's code directory, as text, read through WASI (the
// bundle itself comes from the host in one call, `task.bundle`).
function readTask(name) {
  const preopens = getDirectories();
  let file = null;
  try {
    const task = preopens.find(([, path]) => path === '/var/task');
    if (!task) throw new Error('the function has no /var/task: it was not built as a JavaScript function');
    file = task[0].openAt({}, name, {}, { read: true });
    const chunks = [];
    let offset = 0n;
    for (;;) {
      const [bytes, end] = file.read(1n << 20n, offset);
      chunks.push(bytes);
      offset += BigInt(bytes.length);
      if (end || bytes.length === 0) break;
    }
    return chunks.map((c) => decoder.decode(c, { stream: true })).join('') + decoder.decode();
  } finally {
    file?.[dispose]?.();
    for (const [descriptor] of preopens) descriptor[dispose]?.();
  }
}

// The user's bundle as a CommonJS module. esbuild wrote it for this
// wrapper (format cjs), which stays on the bundle's first line so that
// its line numbers are the bundle's; `sourceURL` names it in stack frames.
function evaluateBundle() {
  const source = bundle();
  const wrapped = (0, eval)(
    `(function (exports, require, module, __filename, __dirname) {${source}\n})\n//# sourceURL=${BUNDLE}`,
  );
  const module = { exports: {} };
  wrapped.call(module.exports, module.exports, globalThis.require, module, BUNDLE, '/var/task');
  return module.exports;
}

function loadHandler() {
  if (handler) return handler;
  installProcess(environment());
  // An exception at the module's scope fails init, as on Lambda.
  const module = evaluateBundle();
  // As in AWS's runtime, `_HANDLER` (`file.export`) names the export.
  const spec = process.env._HANDLER ?? 'index.handler';
  const dot = spec.lastIndexOf('.');
  const name = dot < 0 ? spec : spec.slice(dot + 1);
  const fn = module?.[name] ?? module?.default?.[name];
  if (typeof fn !== 'function') {
    const e = new Error(`${spec} is undefined or not exported`);
    e.name = 'Runtime.HandlerNotFound';
    throw e;
  }
  handler = fn;
  return fn;
}

// SnapStart's runtime hooks, as Python's runtime has them
// (`register_before_snapshot` / `register_after_restore`): with
// `snapStart: true` the host snapshots the instance after init, and every
// instance starts from that snapshot. Before-snapshot hooks run at the end
// of that init; after-restore hooks run in each restored instance before
// its first event. Either may be async.
const beforeSnapshot = [];
const afterRestore = [];
let restorePending = false;
globalThis.registerBeforeSnapshot = (hook) => void beforeSnapshot.push(hook);
globalThis.registerAfterRestore = (hook) => void afterRestore.push(hook);

async function runHooks(hooks) {
  for (const hook of hooks) await hook();
}

// The world's exports are plain functions that return their result, or a
// promise of it while a handler or a hook is still running (componentize-js
// then runs the event loop until it settles). An async function would cost
// every call a generator, a promise and a captured stack for each level.
const ok = (val) => ({ tag: 'ok', val });
const initFailed = (e) => ({ tag: 'err', val: toFunctionError(e) });
const failed = (e) => ({ tag: 'err', val: toFunctionError(e ?? new Error('the handler rejected')) });

function isThenable(value) {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function';
}

// `next(value)`, at once or when `value` (a promise) fulfills; what throws
// or rejects goes to `onError`.
function andThen(value, next, onError) {
  const run = (v) => {
    try {
      return next(v);
    } catch (e) {
      return onError(e);
    }
  };
  return isThenable(value) ? value.then(run, onError) : run(value);
}

export function init() {
  try {
    loadHandler();
    if (process.env.AWS_LAMBDA_INITIALIZATION_TYPE !== 'snap-start') return ok(undefined);
    return andThen(
      runHooks(beforeSnapshot),
      () => {
        restorePending = true;
        return ok(undefined);
      },
      initFailed,
    );
  } catch (e) {
    return initFailed(e);
  }
}

function parseJson(text) {
  if (text == null) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// Node's context object. Its methods live on the prototype, so that a call
// makes one object, not a set of closures.
class Context {
  constructor(ctx, settle) {
    this.callbackWaitsForEmptyEventLoop = true;
    this.functionName = ctx.functionName;
    this.functionVersion = ctx.functionVersion;
    this.invokedFunctionArn = ctx.invokedFunctionArn;
    this.memoryLimitInMB = String(ctx.memoryLimitInMb);
    this.awsRequestId = ctx.requestId;
    this.logGroupName = ctx.logGroupName;
    this.logStreamName = ctx.logStreamName;
    this.identity = parseJson(ctx.identity);
    this.clientContext = parseJson(ctx.clientContext);
    // Set under tenant isolation only, as on Lambda.
    if (ctx.tenantId != null) this.tenantId = ctx.tenantId;
    Object.defineProperty(this, 'settle', { value: settle });
  }
  getRemainingTimeInMillis() {
    return Number(remainingTimeMs());
  }
  succeed(result) {
    this.settle(null, result);
  }
  fail(err) {
    this.settle(err ?? new Error('handled'));
  }
  done(err, result) {
    this.settle(err, result);
  }
}

// What a settled callback handler answered.
function settled([err, result]) {
  if (err !== null && err !== undefined) throw err;
  return result;
}

// Calls the handler the three ways Node's runtime allows: an async handler
// (its promise is the answer), a callback handler (`callback(err, result)`,
// or `context.succeed/fail/done`), or a plain function's return value. The
// answer, or a promise of it.
function invoke(fn, payload, ctx) {
  let outcome = null;
  let wake = null;
  const settle = (err, result) => {
    if (outcome) return;
    outcome = [err, result];
    wake?.();
  };
  const returned = fn(payload, new Context(ctx, settle), settle);
  if (outcome) return settled(outcome);
  if (isThenable(returned)) return returned.then((value) => (outcome ? settled(outcome) : value));
  if (fn.length < 3) return returned;
  return new Promise((resolve) => {
    wake = resolve;
  }).then(() => settled(outcome));
}

// What every invocation does first: the handler, hooks after a restore,
// the trace id; then the event. `[fn, payload]`, or a promise of it while
// after-restore hooks run.
function begin(event, ctx) {
  currentRequestId = ctx.requestId;
  const fn = handler ?? loadHandler();
  const rest = () => {
    if (ctx.traceId) process.env._X_AMZN_TRACE_ID = ctx.traceId;
    else delete process.env._X_AMZN_TRACE_ID;
    return [fn, event.length ? JSON.parse(decoder.decode(event)) : null];
  };
  if (!restorePending) return rest();
  restorePending = false;
  return runHooks(afterRestore).then(rest);
}

function noSettle() {}

// A buffered handler's answer as JSON bytes.
function encodeResult(value) {
  const json = JSON.stringify(value);
  return encoder.encode(json === undefined ? 'null' : json);
}

export function handle(event, ctx) {
  try {
    return andThen(
      begin(event, ctx),
      ([fn, payload]) => {
        if (isStreaming(fn)) {
          // Invoke on a streaming handler: everything it wrote, buffered.
          return runStreaming(fn, payload, new Context(ctx, noSettle), false).then((stream) => ok(stream.bytes()), failed);
        }
        return andThen(invoke(fn, payload, ctx), (value) => ok(encodeResult(value)), failed);
      },
      failed,
    );
  } catch (e) {
    return failed(e);
  }
}

export function handleStream(event, ctx) {
  try {
    return andThen(
      begin(event, ctx),
      ([fn, payload]) => {
        if (isStreaming(fn)) {
          return runStreaming(fn, payload, new Context(ctx, noSettle), true).then(() => ok(undefined), failed);
        }
        // A buffered handler answers a streamed invocation in one chunk; a
        // client already gone has nothing to receive.
        return andThen(
          invoke(fn, payload, ctx),
          (value) => {
            const bytes = encodeResult(value);
            try {
              writeResponse(bytes);
            } catch {}
            return ok(undefined);
          },
          failed,
        );
      },
      failed,
    );
  } catch (e) {
    return failed(e);
  }
}

// Build time: run once, inside the snapshot, the pure paths every
// invocation takes, so that instances start with them compiled.
//
// componentize-js's generated bindings (which lift and lower every export
// and import call) run in a global of their own, and SpiderMonkey creates a
// global's standard classes on first use. No binding runs at build time, so
// without this every instance would build Promise, the typed arrays, BigInt
// and the iterators again on its first call: a third of a cold start. A
// function made by that global's `Function` (reached from an imported
// binding) runs there.
bundle.constructor(`
  const bytes = new Uint8Array(new ArrayBuffer(16).slice(0, 16));
  const view = new DataView(bytes.buffer);
  view.setInt8(0, 1, true);
  view.setUint32(4, view.getUint32(0, true), true);
  view.setBigInt64(8, BigInt.asUintN(64, BigInt(1)), true);
  view.setFloat64(8, view.getFloat64(8, true) + Number(view.getBigUint64(8, true)), true);
  for (const [k, v] of new Map([[Symbol('k'), [String(1), Boolean(1)]]])) v.includes(k);
  new Set([1]).has(1);
  JSON.stringify({ e: String(new TypeError('sample')) });
  (async () => {
    await null;
  })();
  Promise.resolve(1).then((v) => v);
`)();
{
  const sample = { a: [1, 'b', null, true, { c: 2.5 }] };
  JSON.parse(decoder.decode(encoder.encode(JSON.stringify(sample))));
  format(['a', 1]);
  util.format('%s %d %j', 'a', 1, sample);
  toFunctionError(new TypeError('sample'));
  new Date().toISOString();
  Promise.resolve(1).then((v) => v);
  (async () => {
    await null;
  })();
}
{
  const ctx = { requestId: 'id', functionName: 'f', functionVersion: '$LATEST', invokedFunctionArn: 'arn', memoryLimitInMb: 128, deadlineMs: 0n, logGroupName: 'g', logStreamName: 's' };
  installProcess('{}');
  const respond = (value) => ok(encodeResult(value));
  andThen(invoke(async (event) => ({ statusCode: 200, body: JSON.stringify(event) }), { a: 1 }, ctx), respond, failed);
  andThen(invoke((event, context, callback) => callback(null, event), { a: 1 }, ctx), respond, failed);
}
