// A consumer that takes requests and never answers them, so a test can kill -9 it mid-request.
// Usage: tsx hanging-consumer.fixture.ts <redisUrl> <keyPrefix> <service>
import { RedisStreamsServer } from '../src/redis-streams.server.js';

const [redisUrl, keyPrefix, service] = process.argv.slice(2);
const server = new RedisStreamsServer({
  redis: redisUrl!,
  keyPrefix,
  service: service!,
  claimIdleMs: 60_000,
});
server.addHandler('work', async (data: { n: number }) => {
  process.stdout.write(`STARTED ${data.n}\n`);
  return new Promise(() => undefined);
});
await server.listen((err) => {
  if (err) throw err;
  process.stdout.write('READY\n');
});
