// The user-management API: register, login (a JWT), and /users/me. Users
// are kept in the function's key-value store `users` (keyValueStores in
// serverless.yml); passwords are bcrypt hashes; tokens are HS256 JWTs.
const bcrypt = require('bcryptjs');
const { SignJWT, jwtVerify } = require('jose');
const { v4: uuid } = require('uuid');
const { open } = require('wasi:keyvalue/store@0.2.0-draft');

const users = open('users');
const secret = new TextEncoder().encode(process.env.JWT_SECRET);
const rounds = Number(process.env.BCRYPT_ROUNDS ?? 10);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const reply = (statusCode, body) => ({
  statusCode,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
});

const load = (key) => {
  const bytes = users.get(key);
  return bytes === undefined ? undefined : JSON.parse(decoder.decode(bytes));
};
const save = (key, value) => users.set(key, encoder.encode(JSON.stringify(value)));
const emailKey = (email) => `email:${email.toLowerCase()}`;

async function register({ email, password, name }) {
  if (!email?.includes('@') || !password || password.length < 8) {
    return reply(400, { error: 'an email and a password of at least 8 characters are required' });
  }
  if (load(emailKey(email))) return reply(409, { error: `${email} is already registered` });
  const user = { id: uuid(), email, name: name ?? email, createdAt: new Date().toISOString() };
  save(`user:${user.id}`, { ...user, passwordHash: await bcrypt.hash(password, rounds) });
  save(emailKey(email), { id: user.id });
  return reply(201, user);
}

async function login({ email, password }) {
  const ref = email && load(emailKey(email));
  const user = ref && load(`user:${ref.id}`);
  if (!user || !(await bcrypt.compare(password ?? '', user.passwordHash))) {
    return reply(401, { error: 'wrong email or password' });
  }
  const token = await new SignJWT({ email: user.email })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user.id)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(secret);
  return reply(200, { token });
}

async function me(headers) {
  const auth = headers?.Authorization ?? headers?.authorization ?? '';
  const token = auth.startsWith('Bearer ') ? auth.slice(7) : null;
  if (!token) return reply(401, { error: 'a Bearer token is required' });
  try {
    const { payload } = await jwtVerify(token, secret);
    const { passwordHash, ...user } = load(`user:${payload.sub}`) ?? {};
    return user.id ? reply(200, user) : reply(404, { error: 'no such user' });
  } catch (err) {
    return reply(401, { error: `invalid token: ${err.message}` });
  }
}

exports.handler = async (event) => {
  let body = {};
  try {
    body = event.body ? JSON.parse(event.body) : {};
  } catch {
    return reply(400, { error: 'the body is not JSON' });
  }
  const route = `${event.httpMethod} ${event.resource ?? event.path}`;
  switch (route) {
    case 'POST /register':
      return register(body);
    case 'POST /login':
      return login(body);
    case 'GET /users/me':
      return me(event.headers);
    default:
      return reply(404, { error: `no route ${route}` });
  }
};
