/**
 * DataTrailsIntegration: one DataTrails application (an OAuth2 client), its credentials Secret, and
 * a child BearerToken that keeps a token for it.
 */
import { z } from "zod";
import { forbiddenClaimNames, reservedClaimPrefixes } from "./claims.ts";
import { conditions, objectName, type Resource } from "./meta.ts";

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
      })
      .optional()
      .describe("The Secret that receives client_id, client_secret, token_url and url. Immutable."),
    token: z
      .object({
        enabled: z.boolean().default(true).describe("Keep a bearer token in a Secret. Defaults to true."),
        secretName: objectName.optional().describe("Defaults to <metadata.name>-token."),
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
          "datatrails.ai/rotate=<any new value> to rotate on demand, whatever the policy.",
      ),
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
        rule: "self.connectionRef == oldSelf.connectionRef",
        message: "spec.connectionRef cannot be changed: delete the integration and create it again",
        fieldPath: ".connectionRef",
        reason: "FieldValueForbidden",
      },
      {
        rule:
          "has(self.credentialsSecret) == has(oldSelf.credentialsSecret) && " +
          "(!has(self.credentialsSecret) || self.credentialsSecret == oldSelf.credentialsSecret)",
        message: "spec.credentialsSecret cannot be changed",
        fieldPath: ".credentialsSecret",
        reason: "FieldValueForbidden",
      },
      {
        rule:
          "(has(self.token) && has(self.token.secretName)) == (has(oldSelf.token) && has(oldSelf.token.secretName)) && " +
          "(!(has(self.token) && has(self.token.secretName)) || self.token.secretName == oldSelf.token.secretName)",
        message: "spec.token.secretName cannot be changed",
        fieldPath: ".token.secretName",
        reason: "FieldValueForbidden",
      },
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
    tokenExpiresAt: z.string().optional().describe("When the published bearer token expires (RFC 3339)."),
    lastRotateRequest: z
      .string()
      .optional()
      .describe("The value of the datatrails.ai/rotate annotation last acted on."),
    credentialsSecretVersion: z
      .string()
      .optional()
      .describe("resourceVersion of the credentials Secret as the operator last wrote it (detects edits)."),
    pendingCreate: pendingOperation.optional().describe("Set while an application create is in flight."),
    pendingRotation: pendingOperation.optional().describe("Set while a secret regeneration is in flight."),
  })
  .describe("Observed state of the integration.");

/** Parsed spec of a DataTrailsIntegration (defaults applied). */
export type IntegrationSpec = z.output<typeof integrationSpec>;
/** Status of a DataTrailsIntegration. */
export type IntegrationStatus = z.output<typeof integrationStatus>;
/** A DataTrailsIntegration object. */
export type DataTrailsIntegration = Resource<IntegrationSpec, IntegrationStatus>;
