/** Small DOM helpers shared by the pages. */

/** The element with this id; a missing one is a bug in the page's HTML (adapters/http/app/pages.ts), said at once. */
export function el(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found;
}

export function must<T extends HTMLElement>(id: string): T {
  return el(id) as T;
}

export function show(element: HTMLElement, visible: boolean): void {
  element.hidden = !visible;
}

/**
 * The user an access token names (its `sub`), for display only: the
 * service verifies the token on every call, the page never does.
 */
export function signedInUser(token: string): string | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const sub = (JSON.parse(json) as { sub?: unknown }).sub;
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}
