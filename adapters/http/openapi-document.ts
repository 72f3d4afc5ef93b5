import type { OpenAPIHono } from '@hono/zod-openapi';
import { REQUEST_ID_HEADER } from './request-id.js';

type Document = ReturnType<OpenAPIHono['getOpenAPIDocument']>;
type DocumentConfig = Parameters<OpenAPIHono['getOpenAPIDocument']>[0];

const REQUEST_ID_RESPONSE_HEADER = {
  description: 'The id of this request in the service’s logs: the one sent (when printable, up to 128 characters) or a new UUID.',
  schema: { type: 'string' },
} as const;

/** Every answer of every route carries X-Request-Id (request-id.ts): declared once here rather than on each response by hand. */
function withRequestIdHeader(document: Document): Document {
  for (const operations of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(operations ?? {})) {
      const responses = (operation as { responses?: Record<string, { headers?: Record<string, unknown> }> }).responses;
      for (const response of Object.values(responses ?? {})) response.headers = { ...response.headers, [REQUEST_ID_HEADER]: REQUEST_ID_RESPONSE_HEADER };
    }
  }
  return document;
}

/** `GET <path>`: the OpenAPI 3.0 description of every route `app` has when it is first asked for, built once. */
export function serveOpenApiDocument(app: OpenAPIHono, path: string, config: DocumentConfig): void {
  let document: Document | undefined;
  app.get(path, (c) => c.json((document ??= withRequestIdHeader(app.getOpenAPIDocument(config)))));
}
