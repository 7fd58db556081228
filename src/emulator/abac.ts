/**
 * Attribute-based access control as the emulator models DataTrails' access policies. A caller sees
 * an asset when some policy's `filters` match the asset (outer list AND, inner `or` OR) and one of
 * that policy's permissions matches the caller through its `user_attributes` (same AND/OR shape
 * over `subject=`, `email=`, `jwt_<claim>=` and `group:<name>`). OWNER callers are tenant
 * administrators and see every asset whole. Pure functions, no I/O.
 *
 * Filter terms, as DataTrails documents them:
 * - `attributes.x=v`: x is present and its value is v (a string, or a number or boolean written so);
 * - `attributes.x!=v`: x is absent, or present with another value (a list or a map is never v);
 * - `attributes.x=*`: x is present, whatever its value (lists and maps included);
 * - `attributes.x!=*`: x is absent.
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

const attributePrefix = "attributes.";

/** An asset filter term, parsed: the attribute it reads, `=` or `!=`, and the value (`*` for any). */
export interface FilterTerm {
  attribute: string;
  operator: "=" | "!=";
  value: string;
}

/** Parses `attributes.<name>=<value>` or `attributes.<name>!=<value>`; undefined for anything else. */
export function parseFilterTerm(term: string): FilterTerm | undefined {
  const parts = splitTerm(term);
  if (!parts?.key.startsWith(attributePrefix)) return undefined;
  const negated = parts.key.endsWith("!");
  const attribute = parts.key.slice(attributePrefix.length, negated ? -1 : undefined);
  if (attribute === "") return undefined;
  return { attribute, operator: negated ? "!=" : "=", value: parts.value };
}

/** Why an asset filter term is refused, or undefined when it is `attributes.<name>=` or `!=<value>`. */
export function filterTermProblem(term: string): string | undefined {
  if (parseFilterTerm(term) === undefined) {
    return `filter ${JSON.stringify(term)} must read attributes.<name>=<value> or attributes.<name>!=<value>`;
  }
  return undefined;
}

/** Why a user-attribute term is refused, or undefined for subject=, email=, jwt_<claim>= or group:<name>. */
export function userAttributeProblem(term: string): string | undefined {
  if (term.startsWith("group:")) {
    return term.length > "group:".length
      ? undefined
      : `user attribute ${JSON.stringify(term)} names no group`;
  }
  const parts = splitTerm(term);
  const ok =
    parts !== undefined &&
    (parts.key === "subject" ||
      parts.key === "email" ||
      (parts.key.startsWith("jwt_") && parts.key.length > "jwt_".length));
  return ok
    ? undefined
    : `user attribute ${JSON.stringify(term)} must read subject=, email=, jwt_<claim>= or group:<name>`;
}

function attributeText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/** Whether one filter term holds for the asset. */
export function assetTermHolds(asset: Asset, term: string): boolean {
  const parsed = parseFilterTerm(term);
  if (!parsed) return false;
  const present = Object.hasOwn(asset.attributes, parsed.attribute);
  const matches =
    parsed.value === "*"
      ? present
      : present && attributeText(asset.attributes[parsed.attribute]) === parsed.value;
  return parsed.operator === "=" ? matches : !matches;
}

/** Whether a policy's filters select the asset: every group has a term that holds. */
export function policySelectsAsset(policy: AccessPolicy, asset: Asset): boolean {
  return policy.filters.every((group) => group.or.some((term) => assetTermHolds(asset, term)));
}

/** The groups the caller's token names (a `groups` list or space-separated string); none for appidp tokens. */
function groupsOf(caller: Caller): string[] {
  const groups = caller.claims["groups"];
  if (Array.isArray(groups)) return groups.filter((g): g is string => typeof g === "string");
  return typeof groups === "string" ? groups.split(" ").filter((g) => g !== "") : [];
}

function callerTermHolds(caller: Caller, term: string): boolean {
  if (term.startsWith("group:")) return groupsOf(caller).includes(term.slice("group:".length));
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
