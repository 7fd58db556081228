/**
 * The CRD reference (docs/crd-reference.md), generated from the same zod schemas as the CRDs, so
 * the documentation cannot drift from what the API server enforces.
 */
import { kinds, schemaOf, type KindDefinition } from "./crd.ts";
import { apiVersion } from "./meta.ts";

type Node = Record<string, unknown>;

function typeOf(node: Node): string {
  const type = node["type"];
  if (type === "array") {
    const items = (node["items"] ?? {}) as Node;
    return `[]${typeOf(items)}`;
  }
  if (type === "object" && node["additionalProperties"] && !node["properties"]) {
    return `map[string]${typeOf(node["additionalProperties"] as Node)}`;
  }
  if (Array.isArray(node["enum"])) return (node["enum"] as string[]).map((v) => `\`${v}\``).join(" \\| ");
  return typeof type === "string" ? type : "object";
}

function rows(node: Node, prefix: string, required: readonly string[], out: string[]): void {
  const props = (node["properties"] ?? {}) as Record<string, Node>;
  for (const [name, child] of Object.entries(props)) {
    const path = `${prefix}${name}`;
    const text = child["description"];
    const description = (typeof text === "string" ? text : "").replace(/\|/g, "\\|");
    out.push(`| \`${path}\` | ${typeOf(child)} | ${required.includes(name) ? "yes" : ""} | ${description} |`);
    const nested = child["type"] === "array" ? ((child["items"] ?? {}) as Node) : child;
    if (nested["properties"])
      rows(
        nested,
        `${path}${child["type"] === "array" ? "[]" : ""}.`,
        (nested["required"] ?? []) as string[],
        out,
      );
  }
}

function rules(node: Node, path: string, out: string[]): void {
  for (const rule of (node["x-kubernetes-validations"] ?? []) as {
    message?: string;
    messageExpression?: string;
  }[]) {
    out.push(`- \`${path}\`: ${rule.message ?? "(computed message)"}`);
  }
  for (const [name, child] of Object.entries((node["properties"] ?? {}) as Record<string, Node>)) {
    rules(child, `${path}.${name}`, out);
  }
}

function section(def: KindDefinition): string {
  const spec = schemaOf(def.spec);
  const status = schemaOf(def.status);
  const out = [
    `## ${def.kind}`,
    "",
    `${def.description} Scope: ${def.scope}. Short name: \`${def.shortNames.join("`, `")}\`.`,
    "",
    "| field | type | required | description |",
    "| --- | --- | --- | --- |",
  ];
  rows(spec, "spec.", (spec["required"] ?? []) as string[], out);
  const checks: string[] = [];
  rules(spec, "spec", checks);
  if (checks.length) out.push("", "Refused at admission:", "", ...checks);
  out.push("", "| status field | type | | description |", "| --- | --- | --- | --- |");
  rows(status, "status.", [], out);
  return out.join("\n");
}

/** The whole reference page. */
export function crdReference(): string {
  return [
    "# CRD reference",
    "",
    `Generated from \`src/api/v1alpha1\` by \`make crds\`; do not edit. Every kind is \`${apiVersion}\`.`,
    "Defaults are applied by the operator, not the API server (so Argo CD sees no diff); the",
    "descriptions say what they are. `kubectl explain <kind>.spec` shows the same text.",
    "",
    ...kinds.map(section).join("\n\n").split("\n"),
    "",
  ].join("\n");
}
