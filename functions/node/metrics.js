// CloudWatch Embedded Metric Format: one JSON log line per flush, which
// CloudWatch turns into metrics.
function emitMetric(name, value, unit, dimensions) {
  console.log(JSON.stringify({
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [{
        Namespace: 'NodeExamples',
        Dimensions: [Object.keys(dimensions)],
        Metrics: [{ Name: name, Unit: unit }],
      }],
    },
    ...dimensions,
    [name]: value,
  }));
}

exports.handler = async (event, context) => {
  const started = Date.now();
  const count = event.items?.length ?? 0;
  emitMetric('ItemsProcessed', count, 'Count', { FunctionName: context.functionName });
  emitMetric('ProcessingTime', Date.now() - started, 'Milliseconds', { FunctionName: context.functionName });
  return { processed: count };
};
