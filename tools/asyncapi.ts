// `npm run asyncapi`: writes docs/asyncapi.json, the AsyncAPI 3.0 description of the Socket.IO namespace /chat,
// from the wire contract (libs/contracts/src/asyncapi/asyncapi.ts), formatted with the repository's Prettier
// settings. test/e2e/asyncapi.e2e-spec.ts checks that the committed file is this document, and the gateway serves
// the same document at GET /api/asyncapi.json.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { buildAsyncApiDocument } from '../libs/contracts/src/asyncapi/asyncapi.js';
import { REPO_ROOT } from './lib/app-process.js';

export const ASYNCAPI_FILE = join(REPO_ROOT, 'docs/asyncapi.json');

const options = await prettier.resolveConfig(ASYNCAPI_FILE);
const text = await prettier.format(JSON.stringify(buildAsyncApiDocument()), {
  ...options,
  filepath: ASYNCAPI_FILE,
});
await writeFile(ASYNCAPI_FILE, text);
console.log(`wrote ${ASYNCAPI_FILE}`);
