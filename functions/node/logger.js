const { createLogger } = require('utils');

const logger = createLogger(process.env.SERVICE ?? 'node-examples');

exports.handler = async (event, context) => {
  logger.debug('not shown at the info level');
  logger.info('order received', { orderId: event.orderId, requestId: context.awsRequestId });
  return { logged: true };
};
