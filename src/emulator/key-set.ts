/**
 * A rotating RS256 signing key set for the emulator's other issuers (each Azure AD tenant, the
 * JWT-bearer endpoint). One key signs; after a rotation the one before stays published until the
 * next rotation, as real issuers roll keys over, so tokens already issued keep verifying — unless a
 * test retires it to see what a verifier does with an unknown `kid`. Keys are made synchronously
 * so a tenant can appear inside a synchronous control call.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { SignJWT, type JWK, type JWTPayload } from "jose";

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: JWK;
}

function newSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const { kty, n, e } = publicKey.export({ format: "jwk" });
  // Azure's kids are 27-character base64url thumbprints; 20 random bytes look the same.
  const kid = randomBytes(20).toString("base64url");
  return { kid, privateKey, publicJwk: { kty, n, e, kid, use: "sig" } as JWK };
}

/** Signs with the current key and publishes it with the one before. */
export class KeySet {
  #current: SigningKey = newSigningKey();
  #previous: SigningKey | undefined;

  /** The current signing key's id. */
  get kid(): string {
    return this.#current.kid;
  }

  /**
   * Makes a new signing key and returns its kid. The old key stays published (tokens it signed
   * still verify) unless `keepPrevious` is false.
   */
  rotate(options: { keepPrevious?: boolean | undefined } = {}): string {
    this.#previous = options.keepPrevious === false ? undefined : this.#current;
    this.#current = newSigningKey();
    return this.#current.kid;
  }

  /** The published public keys, newest first, each with `extra` fields (Azure's v2 `issuer`). */
  jwks(extra: Record<string, string> = {}): { keys: JWK[] } {
    const keys = this.#previous ? [this.#current, this.#previous] : [this.#current];
    return { keys: keys.map((k) => ({ ...k.publicJwk, ...extra })) };
  }

  /** Signs `payload` (all claims already set) with the current key; header `{alg: RS256, typ, kid}`. */
  sign(payload: JWTPayload, typ = "JWT"): Promise<string> {
    const key = this.#current;
    return new SignJWT(payload).setProtectedHeader({ alg: "RS256", typ, kid: key.kid }).sign(key.privateKey);
  }
}
