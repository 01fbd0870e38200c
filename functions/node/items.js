// CRUD over API Gateway (REST, v1 events), items kept in the instance.
const { v4: uuid } = require('uuid');

const items = new Map();

const reply = (statusCode, body, headers = {}) => ({
  statusCode,
  headers: { 'Content-Type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

exports.handler = async (event) => {
  const id = event.pathParameters?.id;
  let input = {};
  try {
    input = event.body ? JSON.parse(event.body) : {};
  } catch {
    return reply(400, { error: 'the body is not JSON' });
  }
  switch (event.httpMethod) {
    case 'GET':
      if (!id) return reply(200, { items: [...items.values()] });
      return items.has(id) ? reply(200, items.get(id)) : reply(404, { error: `no item ${id}` });
    case 'POST': {
      if (!input.name) return reply(400, { error: '`name` is required' });
      const item = { id: uuid(), name: input.name, createdAt: new Date().toISOString() };
      items.set(item.id, item);
      return reply(201, item);
    }
    case 'PUT': {
      if (!items.has(id)) return reply(404, { error: `no item ${id}` });
      const item = { ...items.get(id), ...input, id, updatedAt: new Date().toISOString() };
      items.set(id, item);
      return reply(200, item);
    }
    case 'DELETE':
      if (!items.delete(id)) return reply(404, { error: `no item ${id}` });
      return { statusCode: 204, body: '' };
    default:
      return reply(405, { error: `${event.httpMethod} is not allowed` }, { Allow: 'GET, POST, PUT, DELETE' });
  }
};
