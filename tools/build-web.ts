// `npm run build:web` (part of `npm run build`): the gateway's static files. Copies apps/gateway/public into the
// build output, adds socket.io-client's browser ESM build as /vendor/socket.io.esm.min.js, and compiles the
// browser SDK when libs/client has a browser build configuration. No bundler: the page loads ES modules directly.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './lib/app-process.js';

export const WEB_ROOT = join(REPO_ROOT, 'dist/apps/gateway/public');

rmSync(WEB_ROOT, { recursive: true, force: true });
cpSync(join(REPO_ROOT, 'apps/gateway/public'), WEB_ROOT, { recursive: true });
mkdirSync(join(WEB_ROOT, 'vendor'), { recursive: true });
for (const file of ['socket.io.esm.min.js', 'socket.io.esm.min.js.map']) {
  cpSync(join(REPO_ROOT, 'node_modules/socket.io-client/dist', file), join(WEB_ROOT, 'vendor', file));
}
const sdkConfig = join(REPO_ROOT, 'libs/client/tsconfig.browser.json');
if (existsSync(sdkConfig)) {
  execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', sdkConfig], {
    stdio: 'inherit',
  });
}
console.log(`web files in ${WEB_ROOT}`);
