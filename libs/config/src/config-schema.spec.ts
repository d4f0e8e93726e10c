import { describe, expect, it } from 'vitest';
import {
  bool,
  ConfigError,
  envNames,
  int,
  loadConfig,
  oneOf,
  optionalStr,
  str,
  url,
} from './config-schema.js';

const schema = {
  port: int('PORT', { default: 3001, min: 1, max: 65535, description: 'HTTP port' }),
  secret: str('JWT_SECRET', { minLength: 16, description: 'signing secret' }),
  redisUrl: url('REDIS_URL', {
    default: 'redis://127.0.0.1:6379',
    protocols: ['redis:'],
    description: 'redis',
  }),
  mode: oneOf('AUTH_MODE', ['jwt', 'insecure-user-id'], { default: 'jwt', description: 'auth mode' }),
  migrate: bool('MIGRATE_ON_START', { default: true, description: 'migrate' }),
  publicKey: optionalStr('JWT_PUBLIC_KEY', { description: 'rs256 key' }),
};

describe('loadConfig', () => {
  it('applies defaults and parses values', () => {
    const config = loadConfig(schema, {
      JWT_SECRET: 'x'.repeat(16),
      MIGRATE_ON_START: 'false',
      PORT: '4000',
    });
    expect(config).toEqual({
      port: 4000,
      secret: 'x'.repeat(16),
      redisUrl: 'redis://127.0.0.1:6379',
      mode: 'jwt',
      migrate: false,
      publicKey: undefined,
    });
  });

  it('names every bad variable and what it expected, without echoing secrets', () => {
    let error: unknown;
    try {
      loadConfig(schema, {
        PORT: 'abc',
        JWT_SECRET: 'short',
        REDIS_URL: 'http://user:pw@x',
        AUTH_MODE: 'none',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(4);
    expect(problems[0]).toBe('PORT="abc" is invalid: expected an integer between 1 and 65535 (HTTP port)');
    expect(problems[1]).toContain('JWT_SECRET="<redacted>" is invalid');
    expect(problems[2]).toContain(
      'REDIS_URL="http://<credentials>@x" is invalid: expected a URL with protocol redis:',
    );
    expect(problems[3]).toContain('AUTH_MODE="none" is invalid: expected one of jwt, insecure-user-id');
  });

  it('reports a missing required variable', () => {
    expect(() => loadConfig(schema, {})).toThrow(/JWT_SECRET is required/);
  });

  it('rejects out-of-range integers', () => {
    expect(() => loadConfig(schema, { JWT_SECRET: 'x'.repeat(16), PORT: '70000' })).toThrow(/PORT="70000"/);
  });

  it('lists the variable names it reads', () => {
    expect(envNames(schema)).toEqual([
      'PORT',
      'JWT_SECRET',
      'REDIS_URL',
      'AUTH_MODE',
      'MIGRATE_ON_START',
      'JWT_PUBLIC_KEY',
    ]);
  });
});
