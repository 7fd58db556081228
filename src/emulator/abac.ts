/**
 * Attribute-based access control as the emulator models DataTrails' access policies. A caller sees
 * an asset when some policy's `filters` match the asset (outer list AND, inner `or` OR, over
 * `attributes.<name>=<value>`) and one of that policy's permissions matches the caller through its
 * `user_attributes` (same AND/OR shape over `subject=`, `email=` and `jwt_<claim>=`). OWNER callers
 * are tenant administrators and see every asset whole. Pure functions, no I/O.
 */
import type { AccessPermission, AccessPolicy, Asset } from "./state.ts";

/** Who is asking: the token's subject, its claims, and whether the application is an OWNER. */
export interface Caller {
  clientId: string;
  owner: boolean;
  claims: Record<string, unknown>;
}

function splitTerm(term: string): { key: string; value: string } | undefined {
  const at = term.indexOf("=");
  if (at <= 0) return undefined;
  return { key: term.slice(0, at), value: term.slice(at + 1) };
}

/** Why an asset filter term is refused, or undefined when it is `attributes.<name>=<value>`. */
export function filterTermProblem(term: string): string | undefined {
  const parts = splitTerm(term);
  if (!parts?.key.startsWith("attributes.") || parts.key.length === "attributes.".length) {
    return `filter ${JSON.stringify(term)} must read attributes.<name>=<value>`;
  }
  return undefined;
}

/** Why a user-attribute term is refused, or undefined when it is subject=, email= or jwt_<claim>=. */
export function userAttributeProblem(term: string): string | undefined {
  const parts = splitTerm(term);
  const ok =
    parts !== undefined &&
    (parts.key === "subject" ||
      parts.key === "email" ||
      (parts.key.startsWith("jwt_") && parts.key.length > "jwt_".length));
  return ok ? undefined : `user attribute ${JSON.stringify(term)} must read subject=, email= or jwt_<claim>=`;
}

function attributeText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/** Whether one `attributes.<name>=<value>` term holds for the asset (`*` matches any value). */
function assetTermHolds(asset: Asset, term: string): boolean {
  const parts = splitTerm(term);
  if (!parts?.key.startsWith("attributes.")) return false;
  const actual = attributeText(asset.attributes[parts.key.slice("attributes.".length)]);
  return actual !== undefined && (parts.value === "*" || actual === parts.value);
}

/** Whether a policy's filters select the asset: every group has a term that holds. */
export function policySelectsAsset(policy: AccessPolicy, asset: Asset): boolean {
  return policy.filters.every((group) => group.or.some((term) => assetTermHolds(asset, term)));
}

function callerTermHolds(caller: Caller, term: string): boolean {
  const parts = splitTerm(term);
  if (!parts) return false;
  if (parts.key === "subject") return parts.value === caller.clientId;
  if (parts.key === "email") return parts.value === attributeText(caller.claims["email"]);
  if (parts.key.startsWith("jwt_")) {
    return parts.value === attributeText(caller.claims[parts.key.slice("jwt_".length)]);
  }
  return false;
}

/** Whether a permission names the caller: it has user attributes and every group has a match. */
export function permissionMatchesCaller(permission: AccessPermission, caller: Caller): boolean {
  return (
    permission.user_attributes.length > 0 &&
    permission.user_attributes.every((group) => group.or.some((term) => callerTermHolds(caller, term)))
  );
}

/** The asset with only the attributes the permissions let the caller read. */
function project(asset: Asset, permissions: readonly AccessPermission[]): Asset {
  const readable = new Set<string>();
  for (const p of permissions)
    for (const name of [...p.asset_attributes_read, ...p.include_attributes]) {
      readable.add(name);
    }
  if (readable.has("*")) return asset;
  const attributes: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(asset.attributes)) if (readable.has(k)) attributes[k] = v;
  return { ...asset, attributes };
}

/** The assets the caller may see, each cut down to the attributes it may read, in order. */
export function visibleAssets(
  assets: readonly Asset[],
  policies: readonly AccessPolicy[],
  caller: Caller,
): Asset[] {
  if (caller.owner) return [...assets];
  const out: Asset[] = [];
  for (const asset of assets) {
    const granted = policies
      .filter((policy) => policySelectsAsset(policy, asset))
      .flatMap((policy) => policy.access_permissions.filter((p) => permissionMatchesCaller(p, caller)));
    if (granted.length > 0) out.push(project(asset, granted));
  }
  return out;
}
