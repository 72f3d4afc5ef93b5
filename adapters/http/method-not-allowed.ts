import { DomainError } from '../../core/domain/errors.js';

/** A known path asked with a method it does not answer (API.md: 405, with `Allow`). */
export class MethodNotAllowedError extends DomainError {
  readonly code = 'METHOD_NOT_ALLOWED';
  constructor(readonly allow: readonly string[]) {
    super(`this path answers ${allow.join(', ')} only`);
  }
}

/**
 * The methods the app's routes answer on `path`, from its route table
 * (middleware, registered for every method, does not count). Read once, on
 * the first miss: routes are all registered by then.
 */
export function allowedMethods(app: { readonly routes: readonly { readonly method: string; readonly path: string }[] }): (path: string) => string[] {
  let table: { readonly pattern: RegExp; readonly method: string }[] | undefined;
  return (path) => {
    table ??= app.routes
      .filter((route) => route.method !== 'ALL' && !route.path.includes('*'))
      .map((route) => ({ method: route.method, pattern: new RegExp(`^${route.path.replace(/:[^/]+/g, '[^/]+')}/?$`) }));
    const methods = new Set(table.filter((route) => route.pattern.test(path)).map((route) => route.method));
    // Hono answers HEAD wherever it answers GET.
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods];
  };
}
