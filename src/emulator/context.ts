/**
 * What every route of the emulator shares: the tenant state, the token authority, the other
 * issuers (Azure AD, JWT-bearer), the clock, the settings and the fault switches. Built once by
 * startEmulator and handed to each route module.
 */
import type { AzureDirectory } from "./azure-directory.ts";
import type { EmulatorClock } from "./clock.ts";
import type { EmulatorSettings, Faults, FixedWindowLimiter } from "./faults.ts";
import type { FederatedDirectory } from "./federated-directory.ts";
import type { OidcKeys } from "./oidc-keys.ts";
import type { RequestCounters, RouteName } from "./route-names.ts";
import type { EmulatorState } from "./state.ts";
import type { TokenAuthority } from "./tokens.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The route's name; admin routes have none (no counting, no faults). */
    route?: RouteName;
  }
}

/** The emulator's shared parts. */
export interface EmulatorContext {
  readonly state: EmulatorState;
  readonly tokens: TokenAuthority;
  /** The emulated Azure AD tenants. */
  readonly azure: AzureDirectory;
  /** External issuers' signing keys, for Azure AD's federated identity credentials. */
  readonly oidc: OidcKeys;
  /** The emulated JWT-bearer (Federated Directory) issuer. */
  readonly federated: FederatedDirectory;
  readonly clock: EmulatorClock;
  readonly settings: EmulatorSettings;
  readonly initialSettings: Readonly<EmulatorSettings>;
  readonly faults: Faults;
  readonly counters: RequestCounters;
  readonly limiter: FixedWindowLimiter;
  /** The base URL tokens name as issuer and audience; known once the server listens. */
  baseUrl: string;
}

/** A single query-string value (the first when repeated), or undefined. */
export function queryValue(query: unknown, name: string): string | undefined {
  if (typeof query !== "object" || query === null) return undefined;
  const v = (query as Record<string, unknown>)[name];
  const first: unknown = Array.isArray(v) ? v[0] : v;
  return typeof first === "string" ? first : undefined;
}
