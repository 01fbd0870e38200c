// The Node.js Lambda runtime contract on top of the wasmfn handler world.
//
// build.mjs bundles this file with the user's handler module and hands the
// bundle to componentize-js. It exports the world's two functions:
//
//   init()             -> result<_, function-error>
//   handle(event, ctx) -> result<list<u8>, function-error>
//
// and turns them into what AWS's Node.js runtime gives a handler: `event`,
// the `context` object, async and callback handlers, `process.env`,
// `console.*` as CloudWatch lines with their levels, and errors in Lambda's
// shape.
//
// componentize-js evaluates this module's top level at build time, inside
// the snapshot, where the environment and the clock are the build's and
// imports trap. So the user's module is `require`d lazily (esbuild wraps it
// in a function) and first evaluated in `init`, with the real environment,
// as Lambda evaluates module scope at init.
//
// Binding conventions of componentize-js 0.23: `list<u8>` arrives as a
// Uint8Array and is returned as one; records have lowerCamelCase fields
// (`deadlineMs` is a BigInt); a result is returned as `{tag, val}`. A thrown
// Error would trap the guest instead of becoming `err`, so nothing here
// lets one escape.

import './early.js';
import { getEnvironment } from 'wasi:cli/environment@0.2.12';
import { remainingTimeMs } from 'wasmfn:handler/runtime@0.1.0';
import { Buffer } from 'buffer';
import * as util from 'util';

// Pure globals are safe to create at build time.
globalThis.Buffer ??= Buffer;
globalThis.global ??= globalThis;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// The request id that console lines carry; `undefined` during init, as on
// Lambda.
let currentRequestId;

// console.* as AWS's Node.js runtime writes them: one call is one CloudWatch
// line, `timestamp<TAB>requestId<TAB>LEVEL<TAB>message`, printf-style
// formats applied, newlines inside a message kept in the one line (as
// carriage returns). The host passes lines in this shape through as they
// are.
const write = console.log.bind(console);
function logAt(level) {
  return (...args) => {
    const message = util.format(...args).replace(/\n/g, '\r');
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
  logAt('TRACE')(`Trace: ${util.format(...args)}\n${stack}`);
};

// Node's built-in modules that a bundle may `require` at run time. esbuild
// leaves `require` of a Node built-in to this function.
const builtins = { buffer: { Buffer }, util };
globalThis.require ??= (name) => {
  const bare = String(name).replace(/^node:/, '');
  if (bare in builtins) return builtins[bare];
  const e = new Error(`Cannot find module '${name}': Node's built-in modules other than buffer and util are not available in wasmfn`);
  e.name = 'Runtime.ImportModuleError';
  throw e;
};

function installProcess() {
  const env = Object.create(null);
  for (const [k, v] of getEnvironment()) env[k] = v;
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

// Where a place in the bundle (1-based line and column) came from in the
// user's files, `/var/task/file.js:line:col`; `null` for the runtime's own
// code.
function userPlace(line, column) {
  const map = globalThis.__wasmfnSourceMap;
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
  const place = /:(\d+):(\d+)$/.exec(where);
  const mapped = place && userPlace(Number(place[1]), Number(place[2]));
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

function loadHandler() {
  if (handler) return handler;
  installProcess();
  // esbuild's alias points this at the user's file, evaluated here, at
  // init; an exception at its module scope fails init, as on Lambda.
  const module = require('wasmfn-user-handler');
  // As in AWS's runtime, `_HANDLER` (`file.export`) names the export, so
  // that functions sharing a module share its component.
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

export function init() {
  try {
    loadHandler();
    return { tag: 'ok', val: undefined };
  } catch (e) {
    return { tag: 'err', val: toFunctionError(e) };
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

function makeContext(ctx, settle) {
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: ctx.functionName,
    functionVersion: ctx.functionVersion,
    invokedFunctionArn: ctx.invokedFunctionArn,
    memoryLimitInMB: String(ctx.memoryLimitInMb),
    awsRequestId: ctx.requestId,
    logGroupName: ctx.logGroupName,
    logStreamName: ctx.logStreamName,
    identity: parseJson(ctx.identity),
    clientContext: parseJson(ctx.clientContext),
    getRemainingTimeInMillis: () => Number(remainingTimeMs()),
    succeed: (result) => settle(null, result),
    fail: (err) => settle(err ?? new Error('handled')),
    done: (err, result) => settle(err, result),
  };
  return context;
}

export async function handle(event, ctx) {
  currentRequestId = ctx.requestId;
  try {
    const fn = loadHandler();
    if (ctx.traceId) process.env._X_AMZN_TRACE_ID = ctx.traceId;
    else delete process.env._X_AMZN_TRACE_ID;
    const text = decoder.decode(event);
    const payload = text.length ? JSON.parse(text) : null;
    const result = await new Promise((resolve, reject) => {
      let settled = false;
      const settle = (err, res) => {
        if (settled) return;
        settled = true;
        if (err !== null && err !== undefined) reject(err);
        else resolve(res);
      };
      const context = makeContext(ctx, settle);
      let returned;
      try {
        returned = fn(payload, context, settle);
      } catch (e) {
        settle(e);
        return;
      }
      if (returned && typeof returned.then === 'function') {
        returned.then((r) => settle(null, r), (e) => settle(e ?? new Error('the handler rejected')));
      } else if (fn.length < 3) {
        // Neither async nor callback-style: what it returned is the answer.
        settle(null, returned);
      }
    });
    const json = JSON.stringify(result);
    return { tag: 'ok', val: encoder.encode(json === undefined ? 'null' : json) };
  } catch (e) {
    return { tag: 'err', val: toFunctionError(e) };
  }
}
