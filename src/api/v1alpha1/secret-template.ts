/**
 * The shape of an output Secret (docs/secret-template.md): extra labels and annotations, the Secret
 * `type`, renamed keys, and a fixed set of extra renderings of the same values. One schema, built
 * for the credentials Secret (spec.credentialsSecret.template) and the token Secret
 * (spec.token.template, BearerToken spec.secretTemplate). No template language: the renderings are
 * named, their output keys fixed. The operator's own labels and annotations cannot be set here.
 */
import { z } from "zod";
import { credentialsKeys, managedByLabel, tokenKeys } from "./constants.ts";
import { secretKey } from "./meta.ts";

/** Label and annotation prefixes only the operator writes (holder, owner, schedule bookkeeping). */
export const reservedMetadataPrefixes = ["datatrails.ai/"] as const;

/** The extra renderings the operator can add to an output Secret. */
export const renderingNames = ["Dotenv", "JSON"] as const;
/** One rendering's name. */
export type RenderingName = (typeof renderingNames)[number];

/** Which output Secret a template shapes: its canonical keys and the keys of its renderings. */
export interface SecretShapeKind {
  what: "credentials" | "token";
  canonicalKeys: readonly string[];
  renderingKeys: Readonly<Record<RenderingName, string>>;
}

/** The credentials Secret: client_id, client_secret, token_url, url; `.env` and `credentials.json`. */
export const credentialsShape: SecretShapeKind = {
  what: "credentials",
  canonicalKeys: Object.values(credentialsKeys),
  renderingKeys: { Dotenv: ".env", JSON: "credentials.json" },
};

/** The token Secret: access_token, bearer-token.txt, expires_at; `.env` and `token.json`. */
export const tokenShape: SecretShapeKind = {
  what: "token",
  canonicalKeys: Object.values(tokenKeys),
  renderingKeys: { Dotenv: ".env", JSON: "token.json" },
};

const qualifiedName =
  "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";
const reservedTest = (v: string) =>
  [...reservedMetadataPrefixes.map((p) => `${v}.startsWith('${p}')`), `${v} == '${managedByLabel}'`].join(
    " || ",
  );

const metadataMap = (what: "labels" | "annotations", value: z.ZodString) =>
  z
    .record(z.string(), value)
    .optional()
    .describe(
      what === "labels"
        ? "Labels added to the Secret (at most 32; values 63 characters at most)."
        : "Annotations added to the Secret (at most 32).",
    )
    .meta({
      maxProperties: 32,
      "x-kubernetes-validations": [
        {
          rule: `self.all(k, !(${reservedTest("k")}))`,
          message: `${what} must not use the operator's own names: datatrails.ai/* or ${managedByLabel}`,
          reason: "FieldValueForbidden",
        },
        {
          rule: `self.all(k, k.matches('${qualifiedName}'))`,
          message: `${what} names must be qualified names ([prefix/]name, the name 63 characters at most)`,
          reason: "FieldValueInvalid",
        },
      ],
    });

/** The template schema for one kind of output Secret. */
export function secretTemplate(shape: SecretShapeKind) {
  const keys = Object.fromEntries(
    shape.canonicalKeys.map((k) => [k, secretKey.optional().describe(`The key that holds ${k}.`)]),
  );
  // Every key the Secret will hold: each canonical key under its (new) name, and each rendering's.
  const written =
    `[${shape.canonicalKeys.map((k) => `(has(self.keys) && has(self.keys.${celField(k)}) ? self.keys.${celField(k)} : '${k}')`).join(", ")}]` +
    ` + (has(self.renderings) ? self.renderings.map(r, ${renderingNames
      .map((r) => `r == '${r}' ? '${shape.renderingKeys[r]}' : `)
      .join("")}'') : [])`;
  return z
    .object({
      type: z
        .string()
        .min(1)
        .max(253)
        .regex(/^[A-Za-z0-9][-A-Za-z0-9_./]*$/)
        .optional()
        .describe(
          "The Secret's type. Defaults to Opaque. Types under kubernetes.io/ are refused (they require keys " +
            "the operator does not write). Fixed once set: Kubernetes cannot change a Secret's type.",
        )
        .meta({
          "x-kubernetes-validations": [
            {
              rule: "self == 'Opaque' || !self.startsWith('kubernetes.io/')",
              message:
                "type must be Opaque or a type outside kubernetes.io/ (e.g. datatrails.ai/credentials)",
              reason: "FieldValueInvalid",
            },
          ],
        }),
      metadata: z
        .object({
          labels: metadataMap(
            "labels",
            z
              .string()
              .max(63)
              .regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/),
          ),
          annotations: metadataMap("annotations", z.string().max(16384)),
        })
        .optional()
        .describe(
          "Labels and annotations added to the Secret (for Reflector, Argo CD, backup tooling). The " +
            "operator's own (app.kubernetes.io/managed-by, datatrails.ai/*) cannot be set. Removing one here " +
            "removes it from the Secret; labels and annotations others added are left alone.",
        ),
      keys: z
        .object(keys)
        .optional()
        .describe(
          `New names for the Secret's keys (${shape.canonicalKeys.join(", ")}). A key not named keeps its name.`,
        ),
      renderings: z
        .array(z.enum(renderingNames))
        .max(renderingNames.length)
        .optional()
        .describe(
          `Extra keys holding the same values in another form: Dotenv adds ${shape.renderingKeys.Dotenv} ` +
            `(KEY=value lines), JSON adds ${shape.renderingKeys.JSON}. See docs/secret-template.md.`,
        )
        .meta({ "x-kubernetes-list-type": "set" }),
    })
    .describe(
      `The shape of the ${shape.what} Secret: labels, annotations, type, key names and extra renderings. ` +
        "Changing it rewrites the Secret from the values it holds, with no new token and no new secret.",
    )
    .meta({
      "x-kubernetes-validations": [
        {
          rule: `(${written}).all(x, x == '' || (${written}).filter(y, y == x).size() == 1)`,
          message:
            `keys: the Secret's key names must be distinct: renamed keys, keys not renamed ` +
            `(${shape.canonicalKeys.join(", ")}) and the renderings' ${Object.values(shape.renderingKeys).join(", ")}`,
          fieldPath: ".keys",
          reason: "FieldValueInvalid",
        },
      ],
    });
}

/** A key as a CEL field selector: names CEL cannot spell plainly are escaped (`bearer-token.txt`). */
function celField(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)
    ? key
    : key.replaceAll("-", "__dash__").replaceAll(".", "__dot__");
}

/** A template as parsed. */
export type SecretTemplate = z.output<ReturnType<typeof secretTemplate>>;

/**
 * A CEL rule (at the spec) that keeps the Secret's type as it was, an absent type read as Opaque:
 * `parents` is the template's path from the spec, e.g. `["credentialsSecret", "template"]`.
 */
export function fixedTypeRule(parents: readonly string[], message: string, fieldPath: string) {
  const effective = (root: string) => {
    const steps: string[] = [];
    let at = root;
    for (const p of [...parents, "type"]) {
      at = `${at}.${p}`;
      steps.push(`has(${at})`);
    }
    return `(${steps.join(" && ")} ? ${at} : 'Opaque')`;
  };
  return {
    rule: `${effective("self")} == ${effective("oldSelf")}`,
    message,
    fieldPath,
    reason: "FieldValueForbidden",
  };
}
