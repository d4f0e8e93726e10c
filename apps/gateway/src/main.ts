// The entry point: tracing first (when configured), then the app. The app is imported only once the SDK and its
// ESM loader hook are in place, so the modules it imports (http, express, ioredis, pg, socket.io) are instrumented
// (docs/integrations.md, "Tracing").
import { defaultInstanceId } from '@parley/config';
import { startTracing } from '@parley/observability/tracing';

// The same id names the instance in logs, metrics, the RPC consumer group and the traces' service.instance.id.
const instanceId = process.env.INSTANCE_ID || defaultInstanceId();
const tracing = await startTracing({ defaultServiceName: 'parley-gateway', instanceId });
const { run } = await import('./app.js');
await run({ instanceId, tracing });
