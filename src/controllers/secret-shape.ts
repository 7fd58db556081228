/**
 * The shape of an output Secret (api/v1alpha1/secret-template.ts, docs/secret-template.md): what a
 * template adds to the values the operator writes, and how the operator reads its own values back
 * from a Secret it shaped, whatever the keys are called.
 *
 * Two annotations make a rewrite possible with no new token and no new secret: `datatrails.ai/keys`
 * records the names the values were written under (only the renamed ones), so they are found again
 * after the template renames them once more; `datatrails.ai/template` records a digest of the
 * template the Secret was written with, so a changed template is noticed without comparing every
 * label. Everything here is pure; values are secrets and never leave the returned data.
 */
import { createHash } from "node:crypto";
import type { V1Secret } from "@kubernetes/client-node";
import type { RenderingName, SecretShapeKind, SecretTemplate } from "../api/v1alpha1/index.ts";
import { decodeSecretData } from "../k8s/secrets.ts";

/** Annotation: the renamed keys the values were written under, as JSON `{canonical: name}`. */
export const keysAnnotation = "datatrails.ai/keys";
/**
 * Annotation: what the template the Secret was written with added, as JSON `{digest, data, labels,
 * annotations}`: a digest of the template, and the names of the renderings' keys and of the
 * template's labels and annotations, so that the ones a new template drops are removed (absent: no
 * template).
 */
export const templateAnnotation = "datatrails.ai/template";

/** What a template added to a Secret, as {@link templateAnnotation} records it. */
interface TemplateRecord {
  digest?: string;
  data: string[];
  labels: string[];
  annotations: string[];
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

function templateRecord(secret: V1Secret | undefined): TemplateRecord {
  const raw = secret?.metadata?.annotations?.[templateAnnotation];
  if (!raw) return { data: [], labels: [], annotations: [] };
  try {
    const parsed = JSON.parse(raw) as Record<string, unknown>;
    return {
      ...(typeof parsed["digest"] === "string" ? { digest: parsed["digest"] } : {}),
      data: strings(parsed["data"]),
      labels: strings(parsed["labels"]),
      annotations: strings(parsed["annotations"]),
    };
  } catch {
    // A hand-edited annotation: the Secret is rewritten (its digest no longer matches).
    return { digest: "", data: [], labels: [], annotations: [] };
  }
}

/** Names of a Secret's fields the operator wrote for an earlier template and must now remove. */
export interface StaleFields {
  data: string[];
  labels: string[];
  annotations: string[];
}

/** The environment variable and JSON field of each canonical key, per kind of Secret. */
const renderedNames: Record<SecretShapeKind["what"], Record<string, { env: string; json: string }>> = {
  credentials: {
    url: { env: "DATATRAILS_URL", json: "url" },
    client_id: { env: "DATATRAILS_CLIENT_ID", json: "client_id" },
    client_secret: { env: "DATATRAILS_CLIENT_SECRET", json: "client_secret" },
    token_url: { env: "DATATRAILS_TOKEN_URL", json: "token_url" },
  },
  token: {
    access_token: { env: "DATATRAILS_TOKEN", json: "access_token" },
    expires_at: { env: "DATATRAILS_TOKEN_EXPIRES_AT", json: "expires_at" },
  },
};

/** A dotenv value: bare when it is plainly safe, else double-quoted with `\`, `"`, `$` and newlines escaped. */
function dotenvValue(value: string): string {
  if (/^[A-Za-z0-9_./:+=@,-]*$/.test(value)) return value;
  return `"${value.replace(/[\\"$]/g, (c) => `\\${c}`).replace(/\n/g, "\\n")}"`;
}

/** The content of one rendering of `values` (canonical key → value). */
export function render(
  shape: SecretShapeKind,
  rendering: RenderingName,
  values: Record<string, string>,
): string {
  const names = Object.entries(renderedNames[shape.what]).filter(([key]) => values[key] !== undefined);
  if (rendering === "Dotenv")
    return names.map(([key, n]) => `${n.env}=${dotenvValue(values[key] ?? "")}\n`).join("");
  const fields: Record<string, string> = {};
  for (const [key, n] of names) fields[n.json] = values[key] ?? "";
  if (shape.what === "token") fields["token_type"] = "Bearer";
  return `${JSON.stringify(fields, null, 2)}\n`;
}

/** The digest recorded in {@link templateAnnotation}; undefined for no (or an empty) template. */
export function templateDigest(template: SecretTemplate | undefined): string | undefined {
  if (!template || Object.keys(template).length === 0) return undefined;
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v !== null && typeof v === "object"
        ? Object.fromEntries(
            Object.entries(v)
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([k, x]) => [k, sorted(x)]),
          )
        : v;
  return createHash("sha256")
    .update(JSON.stringify(sorted(template)))
    .digest("hex")
    .slice(0, 16);
}

/** The name each canonical key is written under with this template. */
export function keyNames(
  shape: SecretShapeKind,
  template: SecretTemplate | undefined,
): Record<string, string> {
  const renamed = (template?.keys ?? {}) as Record<string, string | undefined>;
  return Object.fromEntries(shape.canonicalKeys.map((k) => [k, renamed[k] ?? k]));
}

/** What a template makes of the operator's values and its own metadata: the Secret's data, labels, annotations and type. */
export interface ShapedContent {
  data: Record<string, string>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  type?: string;
}

/**
 * The Secret's content with the template applied: each value under its (new) name, the renderings,
 * the template's labels and annotations under the operator's own (which always win), and the
 * bookkeeping annotations.
 */
export function shapeSecret(
  shape: SecretShapeKind,
  template: SecretTemplate | undefined,
  values: Record<string, string>,
  own: { labels: Record<string, string>; annotations: Record<string, string> },
): ShapedContent {
  const names = keyNames(shape, template);
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) data[names[key] ?? key] = value;
  for (const rendering of template?.renderings ?? [])
    data[shape.renderingKeys[rendering]] = render(shape, rendering, values);
  const renamed = Object.fromEntries(Object.entries(names).filter(([k, v]) => k !== v));
  const digest = templateDigest(template);
  const record = digest
    ? JSON.stringify({
        digest,
        data: renderingKeys(shape, template),
        labels: Object.keys(template?.metadata?.labels ?? {}),
        annotations: Object.keys(template?.metadata?.annotations ?? {}),
      })
    : undefined;
  return {
    data,
    labels: { ...(template?.metadata?.labels ?? {}), ...own.labels },
    annotations: {
      ...(template?.metadata?.annotations ?? {}),
      ...own.annotations,
      ...(Object.keys(renamed).length ? { [keysAnnotation]: JSON.stringify(renamed) } : {}),
      ...(record ? { [templateAnnotation]: record } : {}),
    },
    ...(template?.type ? { type: template.type } : {}),
  };
}

function renderingKeys(shape: SecretShapeKind, template: SecretTemplate | undefined): string[] {
  return (template?.renderings ?? []).map((r) => shape.renderingKeys[r]);
}

/**
 * The keys, labels and annotations the operator wrote into `secret` for its earlier template that
 * `template` no longer writes. Server-side apply removes a field the manager stops sending only
 * if it set it by apply; a Secret made by create holds its first fields under another operation,
 * so these are removed explicitly (see k8s/secrets.ts, AppliedSecret.remove).
 */
export function staleFields(
  shape: SecretShapeKind,
  secret: V1Secret | undefined,
  template: SecretTemplate | undefined,
): StaleFields {
  if (!secret) return { data: [], labels: [], annotations: [] };
  const old = templateRecord(secret);
  const next = new Set([...Object.values(keyNames(shape, template)), ...renderingKeys(shape, template)]);
  const nextLabels = new Set(Object.keys(template?.metadata?.labels ?? {}));
  const nextAnnotations = new Set(Object.keys(template?.metadata?.annotations ?? {}));
  const present = secret.data ?? {};
  return {
    data: [...Object.values(writtenKeyNames(shape, secret)), ...old.data].filter(
      (k) => !next.has(k) && k in present,
    ),
    labels: old.labels.filter((k) => !nextLabels.has(k) && k in (secret.metadata?.labels ?? {})),
    annotations: old.annotations.filter(
      (k) => !nextAnnotations.has(k) && k in (secret.metadata?.annotations ?? {}),
    ),
  };
}

/** The names the Secret's values were written under, as its {@link keysAnnotation} says. */
export function writtenKeyNames(
  shape: SecretShapeKind,
  secret: V1Secret | undefined,
): Record<string, string> {
  let renamed: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(secret?.metadata?.annotations?.[keysAnnotation] ?? "{}");
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed))
      renamed = parsed as Record<string, unknown>;
  } catch {
    // A hand-edited annotation: read the canonical names.
  }
  return Object.fromEntries(
    shape.canonicalKeys.map((k) => [k, typeof renamed[k] === "string" ? renamed[k] : k]),
  );
}

/** The operator's values in a Secret it wrote, by canonical key (absent keys left out). Holds secrets. */
export function readValues(shape: SecretShapeKind, secret: V1Secret | undefined): Record<string, string> {
  const data = decodeSecretData(secret);
  const out: Record<string, string> = {};
  for (const [key, name] of Object.entries(writtenKeyNames(shape, secret)))
    if (data[name] !== undefined) out[key] = data[name];
  return out;
}

/** Whether the Secret was written with `template` (by the digest its {@link templateAnnotation} records). */
export function writtenWith(template: SecretTemplate | undefined, secret: V1Secret): boolean {
  return templateRecord(secret).digest === templateDigest(template);
}

/**
 * Whether the Secret is shaped as `template` says: written with the same template (by digest), and
 * each rendering holding what the values render to (a hand-edited `.env` is rewritten).
 */
export function shapeIsCurrent(
  shape: SecretShapeKind,
  template: SecretTemplate | undefined,
  secret: V1Secret,
): boolean {
  if (!writtenWith(template, secret)) return false;
  const values = readValues(shape, secret);
  const data = decodeSecretData(secret);
  return (template?.renderings ?? []).every((r) => data[shape.renderingKeys[r]] === render(shape, r, values));
}
