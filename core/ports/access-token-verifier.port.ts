/** Who a verified access token speaks for. */
export interface Identity {
  /** The token's `sub`: the user every user route acts for. */
  readonly userId: string;
}

/**
 * Verifies the access tokens an identity provider outside this service
 * issued (API.md, "Authentication"). The HTTP edge calls it once per
 * request; the core receives only the verified `Identity`, never a user id
 * taken from a path or a body alone.
 */
export interface AccessTokenVerifier {
  /**
   * The identity of a valid token. Rejects with `UnauthenticatedError` for
   * anything else: malformed, expired (beyond a small named clock skew),
   * not yet valid, badly signed, an algorithm other than the configured
   * ones (`alg: none` included), no `sub` or `exp`, the wrong `iss` or
   * `aud` when those are configured. Never rejects with anything else for a
   * bad token; a key set that cannot be fetched is `DependencyUnavailableError`.
   */
  verify(token: string): Promise<Identity>;
}
