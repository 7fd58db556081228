/**
 * BearerToken: a bearer token kept fresh in a Secret, from DataTrails (appidp client credentials),
 * any OAuth2 client-credentials issuer (Azure AD v1 `resource`, v2 `scope`), or an RFC 7523
 * JWT-bearer assertion grant (Federated Directory). Optionally verified before it is published.
 */
import { z } from "zod";
import {
  clientCredentialsSecretRef,
  conditions,
  existingSecretPolicy,
  httpUrl,
  objectName,
  secretKey,
  type Resource,
} from "./meta.ts";
import { fixedTypeRule, secretTemplate, tokenShape } from "./secret-template.ts";
import { reloadSpec, reloadStatus } from "./reload.ts";

/** The DataTrails appidp issuer: client credentials against `<url>/archivist/iam/v1/appidp/token`. */
export const dataTrailsIssuer = z
  .object({
    credentialsSecretRef: clientCredentialsSecretRef,
    url: httpUrl
      .optional()
      .describe(
        "Base URL of DataTrails. Defaults to the credentials Secret's url key, else https://app.datatrails.ai.",
      ),
  })
  .describe("Get the token from DataTrails with an integration's client ID and secret.");

/** The audience Azure AD expects on a federated ServiceAccount token. */
export const azureTokenExchangeAudience = "api://AzureADTokenExchange";

/**
 * Annotation on a ServiceAccount: the audiences (comma-separated) the operator may request its tokens
 * for. A ServiceAccount without it lends no token: whoever writes a BearerToken chooses the token
 * endpoint the token is sent to, so the ServiceAccount's owner must opt in, audience by audience.
 */
export const serviceAccountAudiencesAnnotation = "datatrails.ai/token-audiences";

/**
 * A JWT client assertion (RFC 7523 §2.2) in place of a client secret: signed with a certificate's
 * key (Azure AD certificate credentials), or a ServiceAccount token (workload identity federation).
 */
export const clientAssertion = z
  .object({
    clientId: z
      .string()
      .min(1)
      .max(256)
      .describe("The client (application) id: the assertion's iss and sub, sent as client_id."),
    certificate: z
      .object({
        secretRef: z
          .object({
            name: objectName.describe(
              "Name of a kubernetes.io/tls Secret in the same namespace (tls.crt, tls.key; RSA).",
            ),
          })
          .describe("The Secret holding the certificate and its private key."),
        assertionLifetimeSeconds: z
          .number()
          .int()
          .min(60)
          .max(3600)
          .default(300)
          .describe("Lifetime (exp - nbf) of each assertion. Defaults to 300."),
      })
      .optional()
      .describe(
        "Sign each assertion with the certificate's key (RS256; headers x5t#S256 and x5t; aud = tokenUrl).",
      ),
    serviceAccount: z
      .object({
        name: objectName.describe(
          `Name of a ServiceAccount in the same namespace; its annotation ${serviceAccountAudiencesAnnotation} must list the audience.`,
        ),
        audience: z
          .string()
          .min(1)
          .max(256)
          .default(azureTokenExchangeAudience)
          .describe(`The token's audience. Defaults to ${azureTokenExchangeAudience}.`),
        expirationSeconds: z
          .number()
          .int()
          .min(600)
          .max(86400)
          .default(600)
          .describe(
            "Lifetime of each ServiceAccount token (the TokenRequest minimum is 600). Defaults to 600.",
          ),
      })
      .optional()
      .describe(
        "Use a ServiceAccount token the operator requests (TokenRequest API) as the assertion: " +
          "workload identity federation, no stored secret.",
      ),
  })
  .describe(
    "Authenticate with a JWT client assertion instead of a client secret. Set one of certificate and serviceAccount.",
  )
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "has(self.certificate) != has(self.serviceAccount)",
        message:
          "spec.oauth2ClientCredentials.clientAssertion needs exactly one of certificate and serviceAccount",
      },
    ],
  });

/** A generic OAuth2 client-credentials issuer. */
export const clientCredentialsIssuer = z
  .object({
    tokenUrl: httpUrl.describe(
      "The token endpoint, e.g. https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token.",
    ),
    credentialsSecretRef: clientCredentialsSecretRef.optional(),
    clientAssertion: clientAssertion.optional(),
    scopes: z
      .array(z.string().min(1))
      .max(50)
      .optional()
      .describe("Scopes, sent space-separated as scope (Azure AD v2: <resource>/.default)."),
    resource: z
      .string()
      .min(1)
      .optional()
      .describe("The resource parameter (Azure AD v1), e.g. https://<fqdn>."),
    audience: z.string().min(1).optional().describe("The audience parameter some issuers take."),
    authStyle: z
      .enum(["Body", "Basic"])
      .default("Body")
      .describe(
        "Send the client credentials in the form body or as HTTP Basic auth. Defaults to Body " +
          "(a client assertion always goes in the body).",
      ),
  })
  .describe("Get the token with an OAuth2 client-credentials grant.")
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "has(self.credentialsSecretRef) != has(self.clientAssertion)",
        message: "spec.oauth2ClientCredentials needs exactly one of credentialsSecretRef and clientAssertion",
      },
      {
        rule: "!has(self.clientAssertion) || !has(self.authStyle) || self.authStyle == 'Body'",
        message: "spec.oauth2ClientCredentials.authStyle must be Body with clientAssertion",
        fieldPath: ".authStyle",
      },
    ],
  });

/** An RFC 7523 JWT-bearer assertion grant. */
export const jwtBearerIssuer = z
  .object({
    tokenUrl: httpUrl.describe("The token endpoint."),
    privateKeySecretRef: z
      .object({
        name: objectName.describe("Name of a Secret in the same namespace."),
        key: secretKey
          .default("private_key")
          .describe("Key holding the PEM private key. Defaults to private_key."),
      })
      .describe("The Secret holding the key that signs the assertion."),
    algorithm: z.enum(["RS256", "ES256"]).default("RS256").describe("Signing algorithm. Defaults to RS256."),
    keyId: z.string().min(1).optional().describe("kid header of the assertion."),
    issuer: z.string().min(1).describe("iss of the assertion."),
    subject: z.string().min(1).optional().describe("sub of the assertion."),
    audience: z.string().min(1).describe("aud of the assertion."),
    scopes: z
      .array(z.string().min(1))
      .max(50)
      .optional()
      .describe("scope claim of the assertion, as a list."),
    assertionLifetimeSeconds: z
      .number()
      .int()
      .min(30)
      .max(3600)
      .default(300)
      .describe("Lifetime of each assertion. Defaults to 300."),
    requestEncoding: z
      .enum(["Form", "JSON"])
      .default("Form")
      .describe("Post the grant as a form (RFC 7523) or as JSON (Federated Directory). Defaults to Form."),
  })
  .describe("Get the token by posting a signed JWT assertion (RFC 7523).");

/** Token verification before publication. */
export const verification = z
  .object({
    discoveryUrl: httpUrl.optional().describe("OpenID discovery document; its jwks_uri gives the keys."),
    jwksUrl: httpUrl.optional().describe("JWKS URL, when there is no discovery document."),
    issuer: z
      .string()
      .min(1)
      .optional()
      .describe("Expected iss. Defaults to the discovery document's issuer."),
    audiences: z.array(z.string().min(1)).max(20).optional().describe("aud must contain one of these."),
    requiredRoles: z
      .array(z.string().min(1))
      .max(50)
      .optional()
      .describe("Roles the token's roles claim must hold."),
    clockSkewSeconds: z
      .number()
      .int()
      .min(0)
      .max(600)
      .default(60)
      .describe("Tolerance for iat/nbf/exp. Defaults to 60."),
  })
  .describe("Verify each token (signature, iss, aud, exp, roles) before publishing it.")
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "has(self.discoveryUrl) != has(self.jwksUrl)",
        message: "spec.verify needs exactly one of discoveryUrl and jwksUrl",
      },
    ],
  });

/** Spec of a BearerToken. */
export const bearerTokenSpec = z
  .object({
    secretName: objectName.describe(
      "The Secret that receives access_token, bearer-token.txt and expires_at. Immutable; it must not " +
        "be the Secret the issuer's inputs are read from.",
    ),
    existingSecretPolicy: existingSecretPolicy.optional(),
    dataTrails: dataTrailsIssuer.optional(),
    oauth2ClientCredentials: clientCredentialsIssuer.optional(),
    jwtBearer: jwtBearerIssuer.optional(),
    verify: verification.optional(),
    secretTemplate: secretTemplate(tokenShape).optional(),
    // On-demand control (docs/control.md).
    suspend: z
      .boolean()
      .optional()
      .describe(
        "Stop requesting tokens and writing the token Secret; the published token stays as it is. " +
          "A child of a DataTrailsIntegration follows the integration's spec.suspend.",
      ),
    reload: reloadSpec(
      "when a token is obtained from changed inputs (the credentials or key Secret changed; opt-in)",
    ),
  })
  .describe("A bearer token kept fresh in a Secret. Set exactly one issuer.")
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "[has(self.dataTrails), has(self.oauth2ClientCredentials), has(self.jwtBearer)].filter(x, x).size() == 1",
        message: "spec needs exactly one issuer: dataTrails, oauth2ClientCredentials or jwtBearer",
      },
      {
        rule:
          "(!has(self.dataTrails) || self.dataTrails.credentialsSecretRef.name != self.secretName) && " +
          "(!has(self.oauth2ClientCredentials) || !has(self.oauth2ClientCredentials.credentialsSecretRef) || self.oauth2ClientCredentials.credentialsSecretRef.name != self.secretName) && " +
          "(!has(self.oauth2ClientCredentials) || !has(self.oauth2ClientCredentials.clientAssertion) || !has(self.oauth2ClientCredentials.clientAssertion.certificate) || self.oauth2ClientCredentials.clientAssertion.certificate.secretRef.name != self.secretName) && " +
          "(!has(self.jwtBearer) || self.jwtBearer.privateKeySecretRef.name != self.secretName)",
        message:
          "spec.secretName must differ from the Secret the issuer reads (credentialsSecretRef, clientAssertion.certificate.secretRef or privateKeySecretRef): a token cannot be written into its own input",
        fieldPath: ".secretName",
        reason: "FieldValueInvalid",
      },
      {
        rule: "self.secretName == oldSelf.secretName",
        message: "spec.secretName cannot be changed",
        fieldPath: ".secretName",
        reason: "FieldValueForbidden",
      },
      fixedTypeRule(
        ["secretTemplate"],
        "spec.secretTemplate.type cannot be changed: Kubernetes cannot change a Secret's type",
        ".secretTemplate.type",
      ),
    ],
  });

/** Status of a BearerToken. */
export const bearerTokenStatus = z
  .object({
    observedGeneration: z.number().int().optional().describe("The generation last reconciled."),
    conditions,
    tokenExpiresAt: z.string().optional().describe("When the published token expires (RFC 3339)."),
    tokenIssuedAt: z.string().optional().describe("When the published token was obtained (RFC 3339)."),
    nextRefreshAt: z.string().optional().describe("When the next refresh is due (RFC 3339)."),
    lastFailure: z
      .string()
      .optional()
      .describe("Why the last refresh failed, if it did. Never holds a secret."),
    consecutiveFailures: z.number().int().optional().describe("Refresh failures since the last success."),
    // On-demand control (docs/control.md).
    lastRefreshRequest: z
      .string()
      .optional()
      .describe("The value of the datatrails.ai/refresh-requested-at annotation last acted on."),
    reload: reloadStatus,
  })
  .describe("Observed state of the token.");

/** Parsed spec of a BearerToken (defaults applied). */
export type BearerTokenSpec = z.output<typeof bearerTokenSpec>;
/** Status of a BearerToken. */
export type BearerTokenStatus = z.output<typeof bearerTokenStatus>;
/** A BearerToken object. */
export type BearerToken = Resource<BearerTokenSpec, BearerTokenStatus>;
