// oidc-provider ships no type declarations (and only the package itself is installed, no
// @types/oidc-provider): this declares the little of its API that test/support/oidc-provider.ts uses.
declare module "oidc-provider" {
  import type { IncomingMessage, ServerResponse } from "node:http";

  /** A request handler for node:http (the provider is a Koa application). */
  type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

  /** The OpenID Provider. Its configuration is documented in lib/helpers/defaults.js. */
  export default class Provider {
    constructor(issuer: string, configuration?: Record<string, unknown>);
    readonly issuer: string;
    callback(): RequestHandler;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  /** The provider's error classes; InvalidTarget answers `invalid_target`. */
  export const errors: { InvalidTarget: new (description?: string) => Error };
}
