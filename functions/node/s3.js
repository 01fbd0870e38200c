// S3 notifications: object keys arrive URL-encoded (spaces as '+').
const decodeKey = (key) => decodeURIComponent(key.replace(/\+/g, ' '));

exports.handler = async (event) => {
  const results = [];
  for (const record of event.Records) {
    const bucket = record.s3.bucket.name;
    const key = decodeKey(record.s3.object.key);
    if (record.eventName.startsWith('ObjectCreated:')) {
      console.log(`new object s3://${bucket}/${key} (${record.s3.object.size} bytes)`);
      results.push({ action: 'processed', bucket, key, size: record.s3.object.size });
    } else if (record.eventName.startsWith('ObjectRemoved:')) {
      console.log(`object removed s3://${bucket}/${key}`);
      results.push({ action: 'cleaned-up', bucket, key });
    } else {
      console.warn(`ignoring ${record.eventName}`);
      results.push({ action: 'ignored', event: record.eventName });
    }
  }
  return { results };
};
