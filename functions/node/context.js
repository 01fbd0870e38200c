// Prints what a handler is given: the context object and the environment.
exports.handler = async (event, context) => {
  console.log('event', JSON.stringify(event));
  return {
    awsRequestId: context.awsRequestId,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: context.memoryLimitInMB,
    logGroupName: context.logGroupName,
    logStreamName: context.logStreamName,
    remainingTimeInMillis: context.getRemainingTimeInMillis(),
    callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
    region: process.env.AWS_REGION,
    handler: process.env._HANDLER,
    runtimeApiFree: process.env.AWS_LAMBDA_RUNTIME_API === undefined,
  };
};
