// Error handling as a wrapper: LambdaError carries a status code,
// RetryableError is retried with exponential backoff, and what is left is
// a Lambda-shaped failure.
class LambdaError extends Error {
  constructor(message, statusCode = 500) {
    super(message);
    this.name = 'LambdaError';
    this.statusCode = statusCode;
  }
}

class RetryableError extends LambdaError {
  constructor(message) {
    super(message, 503);
    this.name = 'RetryableError';
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function withRetry(fn, { attempts = 3, baseDelayMs = 10 } = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!(err instanceof RetryableError) || attempt >= attempts) throw err;
      const delay = baseDelayMs * 2 ** (attempt - 1);
      console.warn(`attempt ${attempt} failed (${err.message}); retrying in ${delay} ms`);
      await sleep(delay);
    }
  }
}

const withErrorHandling = (handler) => async (event, context) => {
  try {
    return await handler(event, context);
  } catch (err) {
    if (err instanceof LambdaError) {
      console.error(`${err.name}: ${err.message}`);
      return { statusCode: err.statusCode, body: JSON.stringify({ error: err.message }) };
    }
    throw err;
  }
};

exports.handler = withErrorHandling(async (event) => {
  if (event.crash) throw new TypeError('not a LambdaError: this one fails the invocation');
  const result = await withRetry(async (attempt) => {
    if (attempt <= (event.failures ?? 0)) throw new RetryableError(`upstream busy (attempt ${attempt})`);
    return { attempt };
  });
  if (event.invalid) throw new LambdaError('the request is invalid', 400);
  return { statusCode: 200, body: JSON.stringify(result) };
});
