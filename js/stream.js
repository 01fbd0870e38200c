// Lambda's response streaming for Node handlers, as AWS's Node runtime
// provides it: the globals `awslambda.streamifyResponse(handler)` and
// `awslambda.HttpResponseStream.from(stream, prelude)`.
//
//   exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
//     responseStream = awslambda.HttpResponseStream.from(responseStream, { statusCode: 200 });
//     responseStream.write('first ');
//     responseStream.end('last');
//   });
//
// The stream is the small part of Node's Writable that such handlers use:
// `write(chunk[, encoding][, callback])`, `end([chunk])`, `setContentType`,
// `on/once('finish' | 'error')`, `writable`. Invoked through
// InvokeWithResponseStream or a RESPONSE_STREAM Function URL, each write
// goes to the client as it is made (`runtime.write-response`); invoked
// with Invoke, the response is everything written, as Lambda buffers it.
// A write after the client has gone fails with `ERR_STREAM_DESTROYED`.

import { writeResponse } from 'wasmfn:handler/runtime@0.2.0';
import { Buffer } from 'buffer';

// The marker AWS's runtime reads (`HANDLER_STREAMING` = 'response').
const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');

const encoder = new TextEncoder();

function toBytes(chunk, encoding) {
  if (typeof chunk === 'string') {
    return !encoding || /^utf-?8$/i.test(encoding) ? encoder.encode(chunk) : Buffer.from(chunk, encoding);
  }
  if (chunk instanceof Uint8Array) return chunk;
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  const e = new TypeError('The "chunk" argument must be of type string or an instance of Buffer or Uint8Array');
  e.code = 'ERR_INVALID_ARG_TYPE';
  throw e;
}

export class ResponseStream {
  constructor(live) {
    this.live = live;
    this.chunks = [];
    this.ended = false;
    this.destroyed = false;
    this.contentType = 'application/octet-stream';
    this.listeners = Object.create(null);
    this.finished = new Promise((resolve) => {
      this.finish = resolve;
    });
  }

  get writable() {
    return !this.ended && !this.destroyed;
  }

  setContentType(type) {
    this.contentType = String(type);
  }

  write(chunk, encoding, callback) {
    if (typeof encoding === 'function') [callback, encoding] = [encoding, undefined];
    let error = null;
    if (this.ended) {
      error = new Error('write after end');
      error.code = 'ERR_STREAM_WRITE_AFTER_END';
    } else if (this.destroyed) {
      error = new Error('Cannot call write after a stream was destroyed');
      error.code = 'ERR_STREAM_DESTROYED';
    } else {
      const bytes = toBytes(chunk, encoding);
      if (!this.live) this.chunks.push(bytes);
      else if (bytes.length) {
        try {
          writeResponse(bytes);
        } catch (e) {
          // The host's `stream-error`: the client is gone, or 200 MB were sent.
          this.destroyed = true;
          const why = e?.payload ?? e;
          error = new Error(why === 'too-large' ? "the response has reached Lambda's 200 MB streaming limit" : 'the client has gone away');
          error.code = 'ERR_STREAM_DESTROYED';
        }
      }
    }
    if (error) {
      callback?.(error);
      this.emit('error', error);
      return false;
    }
    callback?.();
    return true;
  }

  end(chunk, encoding, callback) {
    if (typeof chunk === 'function') [callback, chunk] = [chunk, undefined];
    if (typeof encoding === 'function') [callback, encoding] = [encoding, undefined];
    if (chunk !== undefined && chunk !== null) this.write(chunk, encoding);
    if (!this.ended) {
      this.ended = true;
      this.finish();
      this.emit('finish');
    }
    callback?.();
    return this;
  }

  on(event, listener) {
    (this.listeners[event] ??= []).push(listener);
    return this;
  }

  once(event, listener) {
    const once = (...args) => {
      this.off(event, once);
      listener(...args);
    };
    return this.on(event, once);
  }

  off(event, listener) {
    this.listeners[event] = (this.listeners[event] ?? []).filter((l) => l !== listener);
    return this;
  }

  removeListener(event, listener) {
    return this.off(event, listener);
  }

  emit(event, ...args) {
    for (const listener of this.listeners[event] ?? []) listener(...args);
    return true;
  }

  // What a buffered stream collected.
  bytes() {
    const out = new Uint8Array(this.chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

globalThis.awslambda = {
  streamifyResponse(handler) {
    handler[STREAMING] = 'response';
    return handler;
  },
  HttpResponseStream: class HttpResponseStream {
    // The HTTP integration's prelude: JSON, then eight NUL bytes, then the body.
    static from(stream, prelude) {
      stream.setContentType('application/vnd.awslambda.http-integration-response');
      stream.write(JSON.stringify(prelude ?? {}));
      stream.write(new Uint8Array(8));
      return stream;
    }
  },
};

export function isStreaming(handler) {
  return handler?.[STREAMING] === 'response';
}

// Runs a streamified handler: the invocation is over once the handler's
// promise settles and the stream has ended (ended for it, if the handler
// returned without ending it). A handler that returns no promise ends when
// it ends the stream.
export async function runStreaming(handler, payload, context, live) {
  const stream = new ResponseStream(live);
  const returned = handler(payload, stream, context);
  if (returned && typeof returned.then === 'function') {
    await returned;
    stream.end();
  } else if (!stream.ended) {
    await stream.finished;
  }
  return stream;
}
