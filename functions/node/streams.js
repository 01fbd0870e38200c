// DynamoDB Streams: new, changed and removed items, with status changes.
const { unmarshall } = require('@aws-sdk/util-dynamodb');

exports.handler = async (event) => {
  const changes = [];
  for (const record of event.Records) {
    const keys = unmarshall(record.dynamodb.Keys);
    const newImage = record.dynamodb.NewImage ? unmarshall(record.dynamodb.NewImage) : undefined;
    const oldImage = record.dynamodb.OldImage ? unmarshall(record.dynamodb.OldImage) : undefined;
    switch (record.eventName) {
      case 'INSERT':
        changes.push({ type: 'created', keys, item: newImage });
        break;
      case 'MODIFY':
        if (oldImage?.status !== newImage?.status) {
          console.log(`status of ${JSON.stringify(keys)}: ${oldImage?.status} -> ${newImage?.status}`);
          changes.push({ type: 'status-changed', keys, from: oldImage?.status, to: newImage?.status });
        } else {
          changes.push({ type: 'updated', keys });
        }
        break;
      case 'REMOVE':
        changes.push({ type: 'deleted', keys, item: oldImage });
        break;
    }
  }
  return { changes };
};
