// A function kept warm by a schedule: the scheduled ping returns at once.
let coldStart = true;

exports.handler = async (event) => {
  const wasCold = coldStart;
  coldStart = false;
  if (event.source === 'aws.events' && event['detail-type'] === 'Scheduled Event') {
    console.log('warm-up ping');
    return { warmup: true, wasCold };
  }
  return { statusCode: 200, body: JSON.stringify({ work: 'done', wasCold }) };
};
