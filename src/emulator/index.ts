/**
 * The DataTrails emulator: a stateful stand-in for the DataTrails identity API (App Registrations,
 * the appidp token endpoint, access policies, assets) and the other issuers the operator supports
 * (Azure AD v1/v2, a JWT-bearer endpoint), with fault switches, for tests, `make dev` and anyone's
 * CI. See docs/emulator.md.
 */
export { startEmulator, type EmulatorOptions, type RunningEmulator } from "./server.ts";
export type { EmulatorControl } from "./control.ts";
export type {
  AzureClientCredentials,
  AzureControl,
  FederatedControl,
  FederatedEndpoints,
} from "./control-issuers.ts";
export type {
  AzureClientInput,
  AzureClientSnapshot,
  AzureEndpoints,
  AzureResource,
  AzureSettings,
} from "./azure-directory.ts";
export type {
  FederatedSettings,
  JwtBearerClientInput,
  JwtBearerClientSnapshot,
} from "./federated-directory.ts";
export type {
  CountRule,
  DropRule,
  EmulatorSettings,
  FailRule,
  IgnoreUpdates,
  RateLimitSetting,
} from "./faults.ts";
export { normalisedBehaviours, type NormalisedPermission, type NormalisedPolicy } from "./normalise.ts";
export { routeNames, type RouteName } from "./route-names.ts";
export { adminPrefix } from "./routes/admin.ts";
export { registeredJwtClaimNames, reservedClaimPrefixes } from "./claims.ts";
export type {
  AccessPolicy,
  ApplicationSnapshot,
  Asset,
  AssetStatus,
  TenantTier,
  WireApplication,
} from "./state.ts";
export { sha256Hex } from "./state.ts";
