// Orders in DynamoDB through the AWS SDK for JavaScript v3, as on Lambda.
// The SDK runs its browser build here (requests over fetch, signed with
// Web Crypto), which takes credentials explicitly: Lambda puts the
// execution role's in the environment, and so does this function's
// manifest entry locally.
const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');
const { DynamoDBDocumentClient, GetCommand, PutCommand } = require('@aws-sdk/lib-dynamodb');
const { v4: uuid } = require('uuid');

const client = new DynamoDBClient({
  region: process.env.AWS_REGION,
  endpoint: process.env.DYNAMODB_ENDPOINT || undefined,
  credentials: {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
    sessionToken: process.env.AWS_SESSION_TOKEN,
  },
});
const db = DynamoDBDocumentClient.from(client);
const TableName = process.env.ORDERS_TABLE;

const reply = (statusCode, body) => ({
  statusCode,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
});

exports.handler = async (event) => {
  if (event.httpMethod === 'POST') {
    const input = JSON.parse(event.body || '{}');
    if (!Array.isArray(input.items) || input.items.length === 0) {
      return reply(400, { error: '`items` must be a non-empty list' });
    }
    const order = { id: uuid(), items: input.items, status: 'new', createdAt: new Date().toISOString() };
    await db.send(new PutCommand({ TableName, Item: order }));
    return reply(201, order);
  }
  const { Item } = await db.send(new GetCommand({ TableName, Key: { id: event.pathParameters.id } }));
  return Item ? reply(200, Item) : reply(404, { error: `no order ${event.pathParameters.id}` });
};
