import type { Context } from 'hono';
import { matchedRoutes } from 'hono/route';

/**
 * The route template that answered (`/users/:userId/points`), never the raw
 * path: a label or log field per user id would explode. Middleware is
 * registered for method ALL; the endpoint is the last route with a method.
 * `unmatched` when no endpoint matched (a 404).
 */
export function routeTemplate(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i];
    if (route !== undefined && route.method !== 'ALL') return route.path;
  }
  return 'unmatched';
}
