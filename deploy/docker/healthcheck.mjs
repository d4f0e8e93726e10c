/* global process, fetch, AbortSignal -- Node 20 globals (this file is plain JS, outside the TypeScript project) */
// The image's HEALTHCHECK, for both apps: exits 0 when this container's app answers GET /health/ready with 2xx
// (ready = Redis, and for chats Postgres, answer and the app is not draining), 1 otherwise. Another path may be
// given as the first argument (e.g. /health/live). The port is $PORT; without it, the apps' default ports are
// tried in turn (gateway 3001, chats 3101) and the first one that answers decides.
const path = process.argv[2] ?? '/health/ready';
const ports = process.env.PORT ? [process.env.PORT] : ['3001', '3101'];

for (const port of ports) {
  let response;
  try {
    response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
  } catch {
    continue; // nothing answers on this port: try the next one
  }
  process.exit(response.ok ? 0 : 1);
}
process.exit(1);
