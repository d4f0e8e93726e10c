// The configuration table of README.md, from the apps' config schemas: `npm run config-table` rewrites it in place.
import { chatsConfigSchema } from '../apps/chats/src/config/chats.config.js';
import { gatewayConfigSchema } from '../apps/gateway/src/config/gateway.config.js';
import type { ConfigSchema } from '@parley/config';

export function configTable(): string {
  const rows = new Map<string, { app: string; def: string; description: string }[]>();
  const add = (app: string, schema: ConfigSchema) => {
    for (const field of Object.values(schema)) {
      const def =
        field.defaultValue === undefined
          ? ''
          : `\`${JSON.stringify(field.defaultValue).replace(/^"|"$/g, '')}\``;
      rows.set(field.env, [...(rows.get(field.env) ?? []), { app, def, description: field.description }]);
    }
  };
  add('gateway', gatewayConfigSchema);
  add('chats', chatsConfigSchema);
  // Where the apps differ (PORT), say what each does.
  const merge = (values: string[], apps: string[]) =>
    new Set(values).size === 1 ? values[0]! : values.map((v, i) => `${apps[i]}: ${v}`).join('; ');
  const lines = ['| variable | app | default | meaning |', '| --- | --- | --- | --- |'];
  for (const [env, perApp] of rows) {
    const apps = perApp.map((r) => r.app);
    const defs = merge(
      perApp.map((r) => r.def),
      apps,
    );
    const meaning = merge(
      perApp.map((r) => r.description),
      apps,
    );
    lines.push(`| \`${env}\` | ${apps.join(', ')} | ${defs} | ${meaning} |`);
  }
  return lines.join('\n');
}

if (process.argv[1]?.endsWith('config-table.ts')) {
  const { readFileSync, writeFileSync } = await import('node:fs');
  const path = new URL('../README.md', import.meta.url);
  const readme = readFileSync(path, 'utf8');
  const updated = readme.replace(
    /(<!-- config-table:start -->\n)[\s\S]*?(\n<!-- config-table:end -->)/,
    (_, start: string, end: string) => `${start}${configTable()}${end}`,
  );
  writeFileSync(path, updated);
  console.log(updated === readme ? 'README.md is up to date' : 'README.md updated');
}
