/**
 * DataTrailsIntegration: one DataTrails application (an OAuth2 client), its credentials Secret, and
 * a child BearerToken that keeps a token for it.
 */
import { z } from "zod";
import { forbiddenClaimNames, reservedClaimPrefixes } from "./claims.ts";
import { conditions, existingSecretPolicy, objectName, type Resource } from "./meta.ts";
import { credentialsShape, fixedTypeRule, secretTemplate, tokenShape } from "./secret-template.ts";
import { reloadSpec, reloadStatus } from "./reload.ts";

const celList = (names: readonly string[]) => `[${names.map((n) => `'${n}'`).join(", ")}]`;
const prefixTest = (v: string) => reservedClaimPrefixes.map((p) => `${v}.startsWith('${p}')`).join(" || ");

/** The maximum number of custom claims on one application. */
export const maxCustomClaims = 32;

/** spec.customClaims: string → string, with the names DataTrails refuses refused at admission. */
export const customClaims = z
  .record(z.string(), z.string().max(1024))
  .optional()
  .describe(
    "Custom claims added to every token of the application (string values). Names must not start with " +
      "jit_ or arc_ nor be a registered JWT claim (iss, sub, aud, exp, nbf, iat, jti, client_id, name, ...).",
  )
  .meta({
    maxProperties: maxCustomClaims,
    "x-kubernetes-validations": [
      {
        rule: `self.all(k, !(${prefixTest("k")}))`,
        // A messageExpression naming the key would exceed the CEL cost budget: map keys have no maxLength.
        message: "custom claim names must not start with jit_ or arc_",
        reason: "FieldValueInvalid",
      },
      {
        rule: `self.all(k, !(k in ${celList(forbiddenClaimNames)}))`,
        message: `custom claim names must not be registered JWT claims nor reserved: ${forbiddenClaimNames.join(", ")}`,
        reason: "FieldValueInvalid",
      },
      {
        rule: "self.all(k, k.matches('^[A-Za-z][A-Za-z0-9_.-]{0,127}$'))",
        message:
          "custom claim names must start with a letter and hold only letters, digits, '_', '.' and '-' (128 at most)",
        reason: "FieldValueInvalid",
      },
    ],
  });

/** The maximum number of access policies on one integration. */
export const maxAccessPolicies = 16;

const attributeNames = (what: string) =>
  z
    .array(z.string().min(1).max(256))
    .max(64)
    .default([])
    .describe(`${what} ("*" for all). Defaults to none.`)
    .meta({ "x-kubernetes-list-type": "atomic" });

/** One access policy granted to the integration's client_id (spec.accessPolicies[]). */
export const accessPolicySpec = z
  .object({
    name: z
      .string()
      .min(1)
      .max(63)
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
      .describe(
        "Name of the policy, unique in this list (a DNS label). The DataTrails policy is named " +
          "k8s:<namespace>/<integration>/<name>.",
      ),
    filters: z
      .array(
        z
          .array(
            z
              .string()
              .min(1)
              .max(512)
              .regex(/^attributes\.[^=]+=.*$/),
          )
          .min(1)
          .max(16)
          .meta({ "x-kubernetes-list-type": "atomic" }),
      )
      .min(1)
      .max(16)
      .describe(
        "Which assets the policy covers: each inner list is OR-ed, the outer list AND-ed. Each term reads " +
          'attributes.<name>=<value>, e.g. [["attributes.arc_display_type=Traffic Light"]]; a value of * ' +
          "matches any value.",
      )
      .meta({ "x-kubernetes-list-type": "atomic" }),
    permissions: z
      .object({
        assetAttributesRead: attributeNames("Asset attributes the integration may read"),
        assetAttributesWrite: attributeNames("Asset attributes the integration may write"),
        eventTypesRead: attributeNames("Event types (arc_display_type) the integration may read"),
        eventTypesWrite: attributeNames("Event types (arc_display_type) the integration may write"),
        behaviours: attributeNames("Behaviours the integration may use, e.g. RecordEvidence, Attachments"),
        includeAttributes: attributeNames("Attributes always returned with the assets"),
      })
      .describe("What the integration may do on the assets the filters select.")
      .meta({
        "x-kubernetes-validations": [
          {
            rule:
              "[" +
              [
                "assetAttributesRead",
                "assetAttributesWrite",
                "eventTypesRead",
                "eventTypesWrite",
                "includeAttributes",
              ]
                .map((f) => `has(self.${f}) && size(self.${f}) > 0`)
                .join(", ") +
              "].exists(x, x)",
            message:
              "permissions must grant something: set at least one of assetAttributesRead, assetAttributesWrite, " +
              "eventTypesRead, eventTypesWrite or includeAttributes (DataTrails refuses a permission without one)",
            reason: "FieldValueRequired",
          },
        ],
      }),
  })
  .describe("An access policy in DataTrails whose only subject is this integration's client_id.");

/** Spec of a DataTrailsIntegration. */
export const integrationSpec = z
  .object({
    connectionRef: z
      .object({
        kind: z
          .enum(["DataTrailsConnection", "ClusterDataTrailsConnection"])
          .default("DataTrailsConnection")
          .describe(
            "DataTrailsConnection (same namespace) or ClusterDataTrailsConnection. Defaults to the first.",
          ),
        name: objectName.describe("Name of the connection."),
      })
      .describe("Which DataTrails, and which admin integration, to create the application with. Immutable."),
    displayName: z
      .string()
      .min(1)
      .max(200)
      .regex(/\S/)
      .describe("The application's display name in DataTrails. Changing it renames the application."),
    customClaims,
    credentialsSecret: z
      .object({
        name: objectName.optional().describe("Defaults to <metadata.name>-credentials."),
        existingSecretPolicy: existingSecretPolicy.optional(),
        template: secretTemplate(credentialsShape).optional(),
      })
      .optional()
      .describe(
        "The Secret that receives client_id, client_secret, token_url and url. Its name is immutable.",
      ),
    token: z
      .object({
        enabled: z.boolean().default(true).describe("Keep a bearer token in a Secret. Defaults to true."),
        secretName: objectName.optional().describe("Defaults to <metadata.name>-token."),
        existingSecretPolicy: existingSecretPolicy.optional(),
        template: secretTemplate(tokenShape).optional(),
      })
      .optional()
      .describe("The bearer token the operator keeps for the application, through a child BearerToken."),
    secretRotation: z
      .object({
        policy: z
          .enum(["BeforeExpiry", "Never"])
          .default("BeforeExpiry")
          .describe(
            "BeforeExpiry regenerates the secret renewBeforeDays before it expires. Defaults to BeforeExpiry.",
          ),
        renewBeforeDays: z
          .number()
          .int()
          .min(1)
          .max(300)
          .default(30)
          .describe("How many days before valid_until to rotate. Defaults to 30."),
      })
      .optional()
      .describe(
        "When to regenerate the client secret (secrets live one year). Annotate the object with " +
          "datatrails.ai/rotate=<any new value> to rotate on demand, whatever the policy (once per value).",
      ),
    accessPolicies: z
      .array(accessPolicySpec)
      .max(maxAccessPolicies)
      .optional()
      .describe(
        "Access policies (ABAC) granting this integration access to assets. A new integration sees no " +
          "asset until a policy names it. Each entry is one DataTrails access policy, kept in step with " +
          "this list and deleted with the integration (unless deletionPolicy is Orphan).",
      )
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] }),
    roles: z
      .array(z.enum(["OWNER"]))
      .max(1)
      .optional()
      .describe(
        "WARNING: OWNER grants full administrator rights over the whole tenant (every asset, every " +
          "integration, every access policy). Only for integrations that must administer DataTrails. " +
          "Sent when the application is created; can only be set at creation, not with spec.adopt.",
      )
      .meta({ "x-kubernetes-list-type": "set" }),
    deletionPolicy: z
      .enum(["Delete", "Orphan"])
      .default("Delete")
      .describe(
        "Delete removes the application from DataTrails with this object; Orphan leaves it. Defaults to Delete.",
      ),
    adopt: z
      .object({
        identity: z
          .string()
          .regex(/^applications\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
          .describe("The application to take over, e.g. applications/d1fb6c87-faa9-4d56-b2fd-a5b70a9af065."),
      })
      .optional()
      .describe(
        "Take over an existing application instead of creating one. Its secret is regenerated unless the " +
          "credentials Secret already holds one that works. Can only be set at creation.",
      ),
    // On-demand control (docs/control.md).
    suspend: z
      .boolean()
      .optional()
      .describe(
        "Stop every call to DataTrails and every Secret write for this integration and its child " +
          "BearerToken; the published credentials and token stay as they are. Deletion waits while " +
          "suspended unless deletionPolicy is Orphan.",
      ),
    reload: reloadSpec(
      "when the client secret is rotated or regenerated (a new secret in the credentials Secret)",
    ),
  })
  .describe("The desired DataTrails application.")
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "has(self.adopt) == has(oldSelf.adopt) && (!has(self.adopt) || self.adopt == oldSelf.adopt)",
        message:
          "spec.adopt can only be set when the integration is created and cannot be changed or removed",
        fieldPath: ".adopt",
        reason: "FieldValueForbidden",
      },
      {
        rule: "has(self.roles) == has(oldSelf.roles) && (!has(self.roles) || self.roles == oldSelf.roles)",
        message:
          "spec.roles can only be set when the integration is created: DataTrails cannot change the roles of an existing application",
        fieldPath: ".roles",
        reason: "FieldValueForbidden",
      },
      {
        rule: "!has(self.roles) || size(self.roles) == 0 || !has(self.adopt)",
        message:
          "spec.roles cannot be used with spec.adopt: DataTrails cannot change an adopted application's roles",
        fieldPath: ".roles",
        reason: "FieldValueForbidden",
      },
      {
        rule: "self.connectionRef == oldSelf.connectionRef",
        message: "spec.connectionRef cannot be changed: delete the integration and create it again",
        fieldPath: ".connectionRef",
        reason: "FieldValueForbidden",
      },
      {
        rule:
          "(has(self.credentialsSecret) && has(self.credentialsSecret.name)) == " +
          "(has(oldSelf.credentialsSecret) && has(oldSelf.credentialsSecret.name)) && " +
          "(!(has(self.credentialsSecret) && has(self.credentialsSecret.name)) || " +
          "self.credentialsSecret.name == oldSelf.credentialsSecret.name)",
        message: "spec.credentialsSecret cannot be changed",
        fieldPath: ".credentialsSecret",
        reason: "FieldValueForbidden",
      },
      {
        rule:
          "!(has(self.credentialsSecret) && has(self.credentialsSecret.name) && has(self.token) && " +
          "has(self.token.secretName)) || self.credentialsSecret.name != self.token.secretName",
        message:
          "spec.token.secretName must differ from spec.credentialsSecret.name: one Secret cannot hold both",
        fieldPath: ".token.secretName",
        reason: "FieldValueInvalid",
      },
      {
        rule:
          "(has(self.token) && has(self.token.secretName)) == (has(oldSelf.token) && has(oldSelf.token.secretName)) && " +
          "(!(has(self.token) && has(self.token.secretName)) || self.token.secretName == oldSelf.token.secretName)",
        message: "spec.token.secretName cannot be changed",
        fieldPath: ".token.secretName",
        reason: "FieldValueForbidden",
      },
      // Output Secret templates (secret-template.ts): Kubernetes cannot change a Secret's type.
      fixedTypeRule(
        ["credentialsSecret", "template"],
        "spec.credentialsSecret.template.type cannot be changed: Kubernetes cannot change a Secret's type",
        ".credentialsSecret.template.type",
      ),
      fixedTypeRule(
        ["token", "template"],
        "spec.token.template.type cannot be changed: Kubernetes cannot change a Secret's type",
        ".token.template.type",
      ),
    ],
  });

/** Crash-safety bookkeeping: written before a create or a regenerate, cleared once the result is stored. */
const pendingOperation = z.object({
  displayName: z.string().optional().describe("Display name sent with the create."),
  startedAt: z.string().describe("When the operation started (RFC 3339)."),
  previousValidFrom: z
    .string()
    .optional()
    .describe(
      "valid_from of the secret before a regeneration: a different one afterwards means it happened.",
    ),
  request: z.string().optional().describe("The datatrails.ai/rotate value the regeneration answers, if any."),
});

/** One access policy the operator keeps, as recorded in status (the crash-safety record). */
export const accessPolicyStatus = z.object({
  name: z.string().describe("The spec.accessPolicies entry it answers."),
  identity: z.string().optional().describe("The policy in DataTrails, access_policies/<uuid>."),
  pendingCreateAt: z
    .string()
    .optional()
    .describe("Set (RFC 3339) while a create is in flight: recovery searches by display name."),
});
/** An entry of status.accessPolicies. */
export type AccessPolicyStatus = z.output<typeof accessPolicyStatus>;

/** Status of a DataTrailsIntegration. */
export const integrationStatus = z
  .object({
    observedGeneration: z.number().int().optional().describe("The generation last reconciled."),
    conditions,
    applicationIdentity: z
      .string()
      .optional()
      .describe("The application in DataTrails, applications/<uuid>."),
    clientId: z.string().optional().describe("The application's client ID."),
    secretValidUntil: z.string().optional().describe("When the current client secret expires (RFC 3339)."),
    secretRotatedAt: z
      .string()
      .optional()
      .describe("When the client secret was last regenerated (RFC 3339)."),
    tokenExpiresAt: z
      .string()
      .optional()
      .describe(
        "Deprecated, no longer written (a token refresh does not touch the integration): the child " +
          "BearerToken's status.tokenExpiresAt says when the published token expires.",
      ),
    lastRotateRequest: z
      .string()
      .optional()
      .describe("The value of the datatrails.ai/rotate annotation last acted on."),
    credentialsSecretVersion: z
      .string()
      .optional()
      .describe("resourceVersion of the credentials Secret as the operator last wrote it (detects edits)."),
    pendingCreate: pendingOperation
      .optional()
      .describe(
        "Set while a create again (the application gone from DataTrails) is in flight; a first create is marked by the datatrails.ai/create-started annotation instead.",
      ),
    pendingRotation: pendingOperation.optional().describe("Set while a secret regeneration is in flight."),
    corrections: z
      .array(
        z.object({
          target: z.string().describe("What was written: application, or accessPolicy/<name>."),
          generation: z.number().int().describe("The generation the correction was made for."),
          digest: z.string().describe("Digest of what was written (never a secret)."),
          attempts: z.number().int().describe("How many times in a row the same correction was made."),
          lastAttemptAt: z.string().describe("When it was last made (RFC 3339)."),
        }),
      )
      .optional()
      .describe(
        "The write-loop breaker's record: DataTrails writes that had to be made again. The same " +
          "correction is made at most 3 times per generation, then held back (reason ConvergenceFailed).",
      )
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["target"] }),
    accessPolicies: z
      .array(accessPolicyStatus)
      .optional()
      .describe("The access policies the operator created in DataTrails for this integration.")
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] }),
    reload: reloadStatus,
  })
  .describe("Observed state of the integration.");

/** Parsed spec of a DataTrailsIntegration (defaults applied). */
export type IntegrationSpec = z.output<typeof integrationSpec>;
/** Status of a DataTrailsIntegration. */
export type IntegrationStatus = z.output<typeof integrationStatus>;
/** A DataTrailsIntegration object. */
export type DataTrailsIntegration = Resource<IntegrationSpec, IntegrationStatus>;
