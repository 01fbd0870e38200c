// SQS with partial batch failures (functionResponseType:
// ReportBatchItemFailures): only the failed messages are redelivered.
const processors = {
  'user-registration': (data) => {
    if (!/^[^@\s]+@[^@\s]+$/.test(data.email ?? '')) throw new Error(`invalid email ${data.email}`);
    console.log(`registered ${data.email}`);
  },
  'order-processing': (data) => {
    if (!data.orderId || !(data.amount > 0)) throw new Error(`invalid order ${JSON.stringify(data)}`);
    console.log(`processed order ${data.orderId}`);
  },
  'email-notification': (data) => {
    if (!data.to || !data.subject) throw new Error('an email needs `to` and `subject`');
    console.log(`queued email to ${data.to}`);
  },
};

exports.handler = async (event) => {
  const batchItemFailures = [];
  for (const record of event.Records) {
    try {
      const { type, data } = JSON.parse(record.body);
      const process = processors[type];
      if (!process) throw new Error(`unknown message type ${type}`);
      await process(data ?? {});
    } catch (err) {
      console.error(`message ${record.messageId} failed: ${err.message}`);
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
};
