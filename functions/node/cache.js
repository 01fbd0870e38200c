// A cache in a global: it survives between warm invocations of one
// instance, entries expire after a TTL, and the oldest go past a size.
class TtlCache {
  constructor(ttlMs, maxEntries) {
    this.ttlMs = ttlMs;
    this.maxEntries = maxEntries;
    this.entries = new Map();
  }
  get(key, now = Date.now()) {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }
  set(key, value, now = Date.now()) {
    this.entries.delete(key);
    this.entries.set(key, { value, expires: now + this.ttlMs });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value);
  }
}

const cache = new TtlCache(Number(process.env.CACHE_TTL_MS ?? 60000), Number(process.env.CACHE_MAX_ENTRIES ?? 100));
let computed = 0;

exports.handler = async (event) => {
  const now = event.now ?? Date.now();
  let value = cache.get(event.key, now);
  const hit = value !== undefined;
  if (!hit) {
    computed += 1;
    value = `value of ${event.key}`;
    cache.set(event.key, value, now);
  }
  return { key: event.key, value, hit, computed, size: cache.entries.size };
};
