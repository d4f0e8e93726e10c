import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { api, Cluster, PrivateNginx, REPO_ROOT, registerUser, runCommand } from '@parley/testing';

// Finding group "Tokens and secrets": with NODE_ENV=production the gateway refuses to boot on the development
// secret, on the compose and k8s placeholders, on a secret shorter than 32 bytes and on AUTH_MODE=insecure-user-id;
// with JWT_PUBLIC_KEY it needs JWT_ISSUER and JWT_AUDIENCE; query-string tokens never reach an access log (the
// gateway's own, and the nginx configuration the project ships, run here by Debian's nginx).

let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({ gateways: 1, chats: 1, gatewayEnv: { LOG_LEVEL: 'debug' } });
});
afterAll(async () => {
  await cluster?.stop();
});

/** Starts a gateway with `env` (only) and returns how it exited: it must refuse before listening. */
async function boot(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return runCommand('gateway', [], {
    REDIS_URL: cluster.redisUrl,
    REDIS_PREFIX: cluster.redisPrefix,
    ...env,
  });
}

const composeSecret = (): string => {
  const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as {
    'x-gateway-env': { JWT_SECRET: string };
  };
  return /\$\{JWT_SECRET:-(.*)\}/.exec(compose['x-gateway-env'].JWT_SECRET)![1]!;
};
const k8sSecret = (): string =>
  (
    parse(readFileSync(join(REPO_ROOT, 'deploy/k8s/base/secret.yaml'), 'utf8')) as {
      stringData: { JWT_SECRET: string };
    }
  ).stringData.JWT_SECRET;

describe('boot refusals', () => {
  it('refuses, with NODE_ENV=production, the development secret and the placeholders compose and k8s ship', async () => {
    for (const secret of [undefined, composeSecret(), k8sSecret()]) {
      const { code, output } = await boot({
        NODE_ENV: 'production',
        ...(secret ? { JWT_SECRET: secret } : {}),
      });
      expect({ secret, code }).toEqual({ secret, code: 1 });
      expect(output).toContain('JWT_SECRET is a placeholder shipped with Parley');
      if (secret) expect(output).not.toContain(secret);
    }
  });

  it('refuses a secret shorter than 32 bytes and AUTH_MODE=insecure-user-id in production', async () => {
    const short = await boot({ NODE_ENV: 'production', JWT_SECRET: 'a'.repeat(31) });
    expect(short.code).toBe(1);
    expect(short.output).toContain('JWT_SECRET must be at least 32 bytes with NODE_ENV=production');
    const insecure = await boot({
      NODE_ENV: 'production',
      JWT_SECRET: 'a'.repeat(40),
      AUTH_MODE: 'insecure-user-id',
    });
    expect(insecure.code).toBe(1);
    expect(insecure.output).toContain('AUTH_MODE=insecure-user-id is refused with NODE_ENV=production');
  });

  it('requires JWT_ISSUER and JWT_AUDIENCE when tokens are verified with JWT_PUBLIC_KEY', async () => {
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    const { code, output } = await boot({ JWT_PUBLIC_KEY: pem.toString() });
    expect(code).toBe(1);
    expect(output).toContain('JWT_ISSUER is required when JWT_PUBLIC_KEY is set');
    expect(output).toContain('JWT_AUDIENCE is required when JWT_PUBLIC_KEY is set');
  });
});

describe('access logs never hold a query-string token', () => {
  it("the gateway's own log", async () => {
    const gateway = cluster.gateways[0]!;
    const user = await registerUser(gateway.url, 'logA');
    const secret = user.tokens.access;
    await api(gateway.url, 'GET', `/api/users/me?token=${secret}&access=${secret}`);
    await api(gateway.url, 'GET', `/api/chats/conversations?limit=5&token=${secret}`, {
      token: 'not-a-token',
    });
    const logs = gateway.logs();
    expect(logs).toContain('token=[redacted]');
    expect(logs).not.toContain(secret);
  });

  it.skipIf(!PrivateNginx.available())(
    "the nginx configuration's access log (deploy/nginx/nginx.conf)",
    async () => {
      const nginx = await new PrivateNginx().start(cluster.gateways.map((g) => g.url));
      try {
        const user = await registerUser(nginx.url, 'logB');
        const secret = user.tokens.access;
        expect((await api(nginx.url, 'GET', '/api/users/me', { token: secret })).status).toBe(200); // proxied for real
        await api(nginx.url, 'GET', `/api/users/me?limit=5&token=${secret}&x=1`);
        await fetch(`${nginx.url}/socket.io/?EIO=4&transport=polling&token=${secret}`).then((r) => r.text());
        await fetch(`${nginx.url}/socket.io/?EIO=4&transport=polling&access_token=${secret}`).then((r) =>
          r.text(),
        );
        await new Promise((r) => setTimeout(r, 200));
        const log = nginx.accessLog();
        expect(log).toContain('/api/users/me?limit=5&token=[redacted]&x=1');
        expect(log).toContain('/socket.io/?EIO=4&transport=polling&token=[redacted]');
        expect(log).toContain('/socket.io/?EIO=4&transport=polling&access_token=[redacted]');
        expect(log).not.toContain(secret);
      } finally {
        await nginx.stop();
      }
    },
  );
});
