// A consumer that dies (SIGKILL, as the OOM killer would) of any "poison" request it is given, so a test can watch
// a poison request go from consumer to consumer until it is dead-lettered.
// Usage: tsx crashing-consumer.fixture.ts <redisUrl> <keyPrefix> <service> <consumer> <claimIdleMs>
import { RedisStreamsServer } from '../src/redis-streams.server.js';

const [redisUrl, keyPrefix, service, consumer, claimIdleMs] = process.argv.slice(2);
const server = new RedisStreamsServer({
  redis: redisUrl!,
  keyPrefix,
  service: service!,
  consumer,
  claimIdleMs: Number(claimIdleMs),
});
server.addHandler('poison', async () => {
  // Killed once the line is out: stdout to a pipe may be asynchronous.
  process.stdout.write('POISONED\n', () => process.kill(process.pid, 'SIGKILL'));
  return new Promise(() => undefined);
});
await server.listen((err) => {
  if (err) throw err;
  process.stdout.write('READY\n');
});
