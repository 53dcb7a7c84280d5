import { readFileSync } from 'node:fs';
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../src/cli/openapi-document.js';

/**
 * The web app's API client is generated from the server's OpenAPI document and committed
 * (web/src/api/). A route change without `npm run api:generate` leaves the app typed against an
 * API that no longer exists: this fails until both files are written again.
 */
const committedDocument = readFileSync(new URL('../web/src/api/openapi.json', import.meta.url), 'utf8');
const committedTypes = readFileSync(new URL('../web/src/api/schema.d.ts', import.meta.url), 'utf8');

describe('the web app API client (web/src/api)', () => {
  it('was generated from the OpenAPI document the server serves now (else: npm run api:generate)', async () => {
    const current = `${JSON.stringify(await openApiDocument(), null, 2)}\n`;
    expect(current === committedDocument, 'web/src/api/openapi.json is stale: run npm run api:generate').toBe(true);
  });

  it('has types generated from that document (else: npm run api:generate)', async () => {
    const types = COMMENT_HEADER + astToString(await openapiTS(JSON.parse(committedDocument)));
    expect(types === committedTypes, 'web/src/api/schema.d.ts is stale: run npm run api:generate').toBe(true);
  });
});
