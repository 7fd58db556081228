/**
 * A {@link TokenIssuer} for tests: hands out opaque tokens living `ttlSeconds` from the fake clock's
 * now (numbered in order: opaque-token-1, -2, ...), or fails with the TokenErrors queued. Counts the
 * requests it was asked.
 */
import { TokenError, type TokenErrorCodeName } from "../../tokens/errors.ts";
import type { IssuedToken, TokenIssuer } from "../../tokens/issuer.ts";

export class FakeTokenIssuer implements TokenIssuer {
  /** How many tokens were asked for. */
  requests = 0;
  ttlSeconds = 3600;
  readonly #faults: TokenError[] = [];
  #serial = 0;
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Makes the next request fail with `code`. */
  failNext(code: TokenErrorCodeName, message = `issuer: ${code}`): this {
    this.#faults.push(new TokenError(code, message));
    return this;
  }

  issue(): Promise<IssuedToken> {
    this.requests += 1;
    const fault = this.#faults.shift();
    if (fault) return Promise.reject(fault);
    return Promise.resolve({
      accessToken: `opaque-token-${++this.#serial}`,
      tokenType: "Bearer",
      expiresInSeconds: this.ttlSeconds,
      receivedAt: new Date(this.#now()),
    });
  }
}
