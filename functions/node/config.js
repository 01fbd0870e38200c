// Configuration validated once, at init: a missing variable fails the
// instance's init (as it would on Lambda), not every request.
class Config {
  constructor(env) {
    const missing = Config.required.filter((name) => !env[name]);
    if (missing.length) {
      const err = new Error(`missing required environment variables: ${missing.join(', ')}`);
      err.name = 'ConfigError';
      throw err;
    }
    this.tableName = env.TABLE_NAME;
    this.maxItems = Number.parseInt(env.MAX_ITEMS ?? '10', 10);
    this.stage = env.STAGE ?? 'dev';
  }
}
Config.required = ['TABLE_NAME'];

const config = new Config(process.env);

exports.handler = async () => ({ tableName: config.tableName, maxItems: config.maxItems, stage: config.stage });
