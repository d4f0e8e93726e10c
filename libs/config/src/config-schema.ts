/**
 * A small, dependency-free environment schema: each field names its variable, parses it, and says what it
 * expects. `loadConfig` reads every field at once and reports every bad variable in one error, so a boot
 * fails with the variable's name and what was expected rather than somewhere deep inside a module.
 */
export type Env = Record<string, string | undefined>;

export interface ConfigField<T> {
  readonly env: string;
  readonly description: string;
  readonly expected: string;
  readonly defaultValue: T | undefined;
  /** True when the variable may be absent and has no default (the value is then undefined). */
  readonly optional: boolean;
  /** Returns the parsed value, or undefined when the raw text does not fit. */
  parse(raw: string): T | undefined;
}

export type ConfigSchema = Record<string, ConfigField<unknown>>;
export type ConfigOf<S extends ConfigSchema> = {
  readonly [K in keyof S]: S[K] extends ConfigField<infer T> ? T : never;
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

interface FieldOptions<T> {
  description: string;
  default?: T;
}

function field<T>(
  env: string,
  expected: string,
  opts: FieldOptions<T> & { optional?: boolean },
  parse: (raw: string) => T | undefined,
): ConfigField<T> {
  return {
    env,
    description: opts.description,
    expected,
    defaultValue: opts.default,
    optional: opts.optional ?? false,
    parse,
  };
}

export function int(
  env: string,
  opts: FieldOptions<number> & { min?: number; max?: number },
): ConfigField<number> {
  const min = opts.min ?? Number.MIN_SAFE_INTEGER;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  return field(env, `an integer between ${min} and ${max}`, opts, (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) return undefined;
    const value = Number(raw);
    return Number.isSafeInteger(value) && value >= min && value <= max ? value : undefined;
  });
}

export function str(
  env: string,
  opts: FieldOptions<string> & { pattern?: RegExp; minLength?: number },
): ConfigField<string> {
  const expected = opts.pattern
    ? `a string matching ${String(opts.pattern)}`
    : `a string of at least ${opts.minLength ?? 1} characters`;
  return field(env, expected, opts, (raw) => {
    if (raw.length < (opts.minLength ?? 1)) return undefined;
    return !opts.pattern || opts.pattern.test(raw) ? raw : undefined;
  });
}

/** An optional string: absent or empty means undefined. */
export function optionalStr(env: string, opts: { description: string }): ConfigField<string | undefined> {
  return field<string | undefined>(
    env,
    'a string',
    { description: opts.description, optional: true },
    (raw) => raw,
  );
}

export function bool(env: string, opts: FieldOptions<boolean>): ConfigField<boolean> {
  return field(env, 'true or false', opts, (raw) => {
    const v = raw.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
    return undefined;
  });
}

export function oneOf<const T extends string>(
  env: string,
  values: readonly T[],
  opts: FieldOptions<T>,
): ConfigField<T> {
  return field(env, `one of ${values.join(', ')}`, opts, (raw) =>
    (values as readonly string[]).includes(raw) ? (raw as T) : undefined,
  );
}

export function url(env: string, opts: FieldOptions<string> & { protocols: string[] }): ConfigField<string> {
  return field(env, `a URL with protocol ${opts.protocols.join(' or ')}`, opts, (raw) => {
    try {
      return opts.protocols.includes(new URL(raw).protocol) ? raw : undefined;
    } catch {
      return undefined;
    }
  });
}

/** An optional URL: absent or empty means undefined (the feature it names is off). */
export function optionalUrl(
  env: string,
  opts: { description: string; protocols: string[] },
): ConfigField<string | undefined> {
  const required = url(env, opts);
  return field<string | undefined>(
    env,
    required.expected,
    { description: opts.description, optional: true },
    (raw) => required.parse(raw),
  );
}

/** A field with its own parser, for values the builders above do not cover (`optional`: may be absent). */
export function custom<T>(
  env: string,
  opts: FieldOptions<T> & { expected: string; parse: (raw: string) => T | undefined; optional?: boolean },
): ConfigField<T> {
  return field(env, opts.expected, opts, opts.parse);
}

export function loadConfig<S extends ConfigSchema>(schema: S, env: Env = process.env): ConfigOf<S> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(schema)) {
    const raw = env[f.env];
    if (raw === undefined || raw === '') {
      if (f.defaultValue === undefined && !f.optional) {
        problems.push(`${f.env} is required: expected ${f.expected} (${f.description})`);
      }
      out[key] = f.defaultValue;
      continue;
    }
    const value = f.parse(raw);
    if (value === undefined) {
      problems.push(
        `${f.env}=${JSON.stringify(redact(f.env, raw))} is invalid: expected ${f.expected} (${f.description})`,
      );
    } else {
      out[key] = value;
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as ConfigOf<S>;
}

/** The environment variable names a schema reads (used by the deploy-manifest agreement test). */
export function envNames(schema: ConfigSchema): string[] {
  return Object.values(schema).map((f) => f.env);
}

function redact(name: string, raw: string): string {
  if (/SECRET|PASSWORD|KEY|TOKEN/i.test(name)) return '<redacted>';
  return raw.replace(/\/\/([^/@\s]*)@/, '//<credentials>@');
}
