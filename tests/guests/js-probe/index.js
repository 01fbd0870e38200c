// A JavaScript guest for the tests: it does what its event's `action` asks,
// the way a Node.js Lambda handler would.
'use strict';

// Module scope runs at init, with the function's real environment.
const initRegion = process.env.AWS_REGION;
const initGreeting = process.env.GREETING;
if (process.env.FAIL_INIT === '1') {
  throw new TypeError('FAIL_INIT is set');
}
let invocations = 0;
// SnapStart: what the hooks saw, and a table built at init.
const hooks = { beforeSnapshot: 0, afterRestore: 0 };
registerBeforeSnapshot(() => {
  hooks.beforeSnapshot += 1;
});
registerAfterRestore(async () => {
  await null;
  hooks.afterRestore += 1;
});
if (process.env.LOG_AT_INIT === '1') console.log('module scope of the probe');

class ValidationError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ValidationError';
  }
}

exports.handler = async (event, context) => {
  invocations += 1;
  switch (event.action) {
    case 'context':
      return {
        awsRequestId: context.awsRequestId,
        functionName: context.functionName,
        functionVersion: context.functionVersion,
        invokedFunctionArn: context.invokedFunctionArn,
        memoryLimitInMB: context.memoryLimitInMB,
        logGroupName: context.logGroupName,
        logStreamName: context.logStreamName,
        remaining: context.getRemainingTimeInMillis(),
        callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
        clientContext: context.clientContext ?? null,
        tenantId: context.tenantId ?? null,
        initRegion,
        initGreeting,
        greeting: process.env.GREETING,
        handlerEnv: process.env._HANDLER,
        logStreamEnv: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      };
    case 'counter':
      return { invocations, hooks, initializationType: process.env.AWS_LAMBDA_INITIALIZATION_TYPE };
    case 'random':
      return { random: Math.random(), uuid: crypto.randomUUID() };
    case 'log':
      console.log('log %s %d', 'line', 1);
      console.info('info', { a: 1 });
      console.warn('warn');
      console.error('error\nsecond line');
      console.debug('debug');
      return { logged: true };
    case 'throw':
      throw new ValidationError(`bad input: ${event.detail}`);
    case 'throw-string':
      throw 'just a string';
    case 'reject-later':
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw new TypeError('rejected after a timer');
    case 'wait': {
      const start = Date.now();
      await new Promise((resolve) => setTimeout(resolve, event.ms));
      return { waited: Date.now() - start };
    }
    case 'buffer':
      return {
        base64: Buffer.from(event.text).toString('base64'),
        hex: Buffer.from(event.text).toString('hex'),
      };
    case 'require-fs':
      return require('fs').readFileSync('/etc/passwd', 'utf8');
    case 'spin':
      for (;;) {
        // A handler that never returns is stopped at its timeout.
      }
    default:
      return { echo: event };
  }
};

// Callback style, and the legacy context methods.
exports.callbackHandler = (event, context, callback) => {
  if (event.action === 'succeed') {
    context.succeed({ via: 'context.succeed' });
    return;
  }
  setTimeout(() => {
    if (event.action === 'fail') callback(new Error('callback failed'));
    else callback(null, { via: 'callback', echo: event });
  }, 1);
};

// A synchronous handler's return value is the answer.
exports.syncHandler = (event) => ({ sync: true, echo: event });

// Response streaming, Node's way: chunks with pauses between them, an
// HTTP prelude for a RESPONSE_STREAM Function URL, a failure mid-stream.
exports.streamHandler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  if (event.http) {
    responseStream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: 202,
      headers: { 'content-type': 'text/plain', 'x-from': 'node' },
    });
  }
  const chunks = event.chunks ?? ['one ', 'two'];
  for (const [i, chunk] of chunks.entries()) {
    if (i > 0 && event.sleepMs) await new Promise((resolve) => setTimeout(resolve, event.sleepMs));
    responseStream.write(chunk);
  }
  if (event.action === 'fail') throw new Error('failed mid-stream');
  responseStream.end(context.tenantId ? ` tenant=${context.tenantId}` : undefined);
});
