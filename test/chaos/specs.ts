/**
 * fast-check generators of DataTrailsIntegration and BearerToken specs for the bad-input scenario.
 * Each generated case is a valid spec, or a valid spec with exactly one defect, and carries the
 * field path the API server's refusal must name (`spec.displayName`, ...). The oracle is therefore
 * simple: no defect, admitted; a defect, refused with a message naming that field. (A null value is
 * no defect: the API server prunes nulls from a structural schema before it validates.)
 */
import fc from "fast-check";
import { forbiddenClaimNames } from "../../src/api/v1alpha1/claims.ts";

/** One generated object: its kind, spec, and the field a refusal must name (undefined: valid). */
export interface SpecCase {
  kind: "DataTrailsIntegration" | "BearerToken";
  spec: Record<string, unknown>;
  defect?: { what: string; field: string };
}

const dnsLabel = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
const claimName = fc
  .stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,20}$/)
  .filter((n) => !n.startsWith("jit_") && !n.startsWith("arc_") && !forbiddenClaimNames.includes(n));
const displayName = fc.string({ minLength: 1, maxLength: 60, unit: "grapheme" }).filter((s) => /\S/.test(s));
const url = fc.constantFrom(
  "https://login.example.invalid/tenant/oauth2/v2.0/token",
  "http://127.0.0.1:1/token",
  "https://issuer.example.invalid/federated/api/token",
);

const validIntegration = fc.record(
  {
    connectionRef: fc.constant({ name: "datatrails" }),
    displayName,
    customClaims: fc.dictionary(claimName, fc.string({ maxLength: 40 }), { maxKeys: 5 }),
    token: fc.record({ enabled: fc.boolean() }, { requiredKeys: [] }),
    secretRotation: fc.record(
      {
        policy: fc.constantFrom("BeforeExpiry", "Never"),
        renewBeforeDays: fc.integer({ min: 1, max: 300 }),
      },
      { requiredKeys: [] },
    ),
    deletionPolicy: fc.constantFrom("Delete", "Orphan"),
  },
  { requiredKeys: ["connectionRef", "displayName"] },
);

type Mutation = [what: string, field: string, apply: (spec: Record<string, unknown>) => void];

const integrationDefects: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant<Mutation>(["empty displayName", "spec.displayName", (s) => (s["displayName"] = "")]),
  fc.constant<Mutation>(["blank displayName", "spec.displayName", (s) => (s["displayName"] = "   ")]),
  fc.constant<Mutation>([
    "displayName too long",
    "spec.displayName",
    (s) => (s["displayName"] = "x".repeat(201)),
  ]),
  fc.constant<Mutation>(["no displayName", "spec.displayName", (s) => delete s["displayName"]]),
  fc
    .constantFrom("jit_tier", "arc_x", ...forbiddenClaimNames)
    .map<Mutation>((n) => [
      `reserved claim ${n}`,
      "spec.customClaims",
      (s) => (s["customClaims"] = { [n]: "v" }),
    ]),
  fc
    .constantFrom("1abc", "with space", "_x", "ünï")
    .map<Mutation>((n) => [
      `bad claim name ${n}`,
      "spec.customClaims",
      (s) => (s["customClaims"] = { [n]: "v" }),
    ]),
  fc
    .constantFrom<unknown>(1, true, { a: "b" }, ["x"])
    .map<Mutation>((v) => [
      `claim value ${JSON.stringify(v)}`,
      "spec.customClaims",
      (s) => (s["customClaims"] = { region: v }),
    ]),
  fc.constant<Mutation>([
    "too many claims",
    "spec.customClaims",
    (s) => (s["customClaims"] = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`c${i}`, "v"]))),
  ]),
  fc
    .constantFrom<unknown>(0, 301, 1.5, "30")
    .map<Mutation>((v) => [
      `renewBeforeDays ${JSON.stringify(v)}`,
      "spec.secretRotation.renewBeforeDays",
      (s) => (s["secretRotation"] = { renewBeforeDays: v }),
    ]),
  fc.constant<Mutation>([
    "unknown rotation policy",
    "spec.secretRotation.policy",
    (s) => (s["secretRotation"] = { policy: "Sometimes" }),
  ]),
  fc.constant<Mutation>([
    "unknown deletionPolicy",
    "spec.deletionPolicy",
    (s) => (s["deletionPolicy"] = "Keep"),
  ]),
  fc
    .constantFrom("applications/xyz", "d1fb6c87-faa9-4d56-b2fd-a5b70a9af065", "applications/../secrets")
    .map<Mutation>((v) => [`adopt ${v}`, "spec.adopt.identity", (s) => (s["adopt"] = { identity: v })]),
  fc
    .constantFrom("Bad_Name", "other/datatrails", "", "-x")
    .map<Mutation>((v) => [
      `connectionRef.name ${JSON.stringify(v)}`,
      "spec.connectionRef.name",
      (s) => (s["connectionRef"] = { name: v }),
    ]),
  fc.constant<Mutation>([
    "unknown connectionRef.kind",
    "spec.connectionRef.kind",
    (s) => (s["connectionRef"] = { kind: "Secret", name: "datatrails" }),
  ]),
  fc
    .constantFrom("UPPER", "other-namespace/creds", "a..b")
    .map<Mutation>((v) => [
      `credentialsSecret.name ${v}`,
      "spec.credentialsSecret.name",
      (s) => (s["credentialsSecret"] = { name: v }),
    ]),
  fc
    .constantFrom("kube-system/token", "Token", "x".repeat(254))
    .map<Mutation>((v) => [
      `token.secretName ${v.slice(0, 20)}`,
      "spec.token.secretName",
      (s) => (s["token"] = { secretName: v }),
    ]),
  fc.constant<Mutation>([
    "token.enabled a string",
    "spec.token.enabled",
    (s) => (s["token"] = { enabled: "yes" }),
  ]),
);

const secretRef = fc.record({ name: dnsLabel }, { requiredKeys: ["name"] });
const issuers = {
  dataTrails: fc.record({ credentialsSecretRef: secretRef }),
  oauth2ClientCredentials: fc.record(
    {
      tokenUrl: url,
      credentialsSecretRef: secretRef,
      scopes: fc.array(fc.string({ minLength: 1, maxLength: 30 }), { maxLength: 3 }),
      authStyle: fc.constantFrom("Body", "Basic"),
    },
    { requiredKeys: ["tokenUrl", "credentialsSecretRef"] },
  ),
  jwtBearer: fc.record(
    {
      tokenUrl: url,
      privateKeySecretRef: secretRef,
      issuer: fc.string({ minLength: 1, maxLength: 30 }),
      audience: fc.string({ minLength: 1, maxLength: 30 }),
      algorithm: fc.constantFrom("RS256", "ES256"),
      assertionLifetimeSeconds: fc.integer({ min: 30, max: 3600 }),
    },
    { requiredKeys: ["tokenUrl", "privateKeySecretRef", "issuer", "audience"] },
  ),
};
const issuerName = fc.constantFrom<keyof typeof issuers>(
  "dataTrails",
  "oauth2ClientCredentials",
  "jwtBearer",
);
/** The Secret a BearerToken spec reads its issuer's inputs from. */
function inputSecretOf(spec: Record<string, unknown>): string | undefined {
  const issuer = (spec["dataTrails"] ?? spec["oauth2ClientCredentials"] ?? spec["jwtBearer"]) as
    { credentialsSecretRef?: { name: string }; privateKeySecretRef?: { name: string } } | undefined;
  return (issuer?.credentialsSecretRef ?? issuer?.privateKeySecretRef)?.name;
}

const validBearerToken = fc
  .tuple(dnsLabel, issuerName, fc.boolean())
  .chain(([secretName, issuer, verify]) =>
    fc.record({
      secretName: fc.constant(secretName),
      [issuer]: issuers[issuer],
      ...(verify ? { verify: fc.record({ jwksUrl: url }) } : {}),
    }),
  )
  // A token written into its own input Secret is a defect (below), not a valid spec.
  .filter((spec) => inputSecretOf(spec) !== spec["secretName"]);

const bearerTokenDefects: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant<Mutation>([
    "no issuer",
    "issuer",
    (s) => {
      for (const k of Object.keys(issuers)) delete s[k];
    },
  ]),
  fc.constant<Mutation>([
    "secretName is its own input Secret",
    "spec.secretName",
    (s) => {
      const input = inputSecretOf(s);
      if (input) s["secretName"] = input;
    },
  ]),
  fc.constant<Mutation>([
    "two issuers",
    "issuer",
    (s) => {
      s["dataTrails"] = { credentialsSecretRef: { name: "a" } };
      s["jwtBearer"] = {
        tokenUrl: "https://x.invalid/t",
        privateKeySecretRef: { name: "k" },
        issuer: "i",
        audience: "a",
      };
    },
  ]),
  fc
    .constantFrom("kube-system/token", "UPPER", "")
    .map<Mutation>((v) => [
      `secretName ${JSON.stringify(v)}`,
      "spec.secretName",
      (s) => (s["secretName"] = v),
    ]),
  fc.constant<Mutation>(["no secretName", "spec.secretName", (s) => delete s["secretName"]]),
  fc.constantFrom("ftp://x/token", "not a url", "file:///etc/passwd").map<Mutation>((v) => [
    `tokenUrl ${v}`,
    "spec.oauth2ClientCredentials.tokenUrl",
    (s) => {
      for (const k of Object.keys(issuers)) delete s[k];
      s["oauth2ClientCredentials"] = { tokenUrl: v, credentialsSecretRef: { name: "c" } };
    },
  ]),
  fc.constantFrom("other/creds", "Creds").map<Mutation>((v) => [
    `dataTrails.credentialsSecretRef.name ${v}`,
    "spec.dataTrails.credentialsSecretRef.name",
    (s) => {
      for (const k of Object.keys(issuers)) delete s[k];
      s["dataTrails"] = { credentialsSecretRef: { name: v } };
    },
  ]),
  fc.constantFrom<unknown>(10, 3601, "300").map<Mutation>((v) => [
    `assertionLifetimeSeconds ${JSON.stringify(v)}`,
    "spec.jwtBearer.assertionLifetimeSeconds",
    (s) => {
      for (const k of Object.keys(issuers)) delete s[k];
      s["jwtBearer"] = {
        tokenUrl: "https://x.invalid/t",
        privateKeySecretRef: { name: "k" },
        issuer: "i",
        audience: "a",
        assertionLifetimeSeconds: v,
      };
    },
  ]),
  fc.constant<Mutation>([
    "algorithm HS256",
    "spec.jwtBearer.algorithm",
    (s) => {
      for (const k of Object.keys(issuers)) delete s[k];
      s["jwtBearer"] = {
        tokenUrl: "https://x.invalid/t",
        privateKeySecretRef: { name: "k" },
        issuer: "i",
        audience: "a",
        algorithm: "HS256",
      };
    },
  ]),
  fc.constant<Mutation>([
    "verify with both URLs",
    "spec.verify",
    (s) => (s["verify"] = { jwksUrl: "https://x.invalid/jwks", discoveryUrl: "https://x.invalid/d" }),
  ]),
  fc.constant<Mutation>(["verify with no URL", "spec.verify", (s) => (s["verify"] = { issuer: "x" })]),
);

function withDefect(
  kind: SpecCase["kind"],
  valid: fc.Arbitrary<Record<string, unknown>>,
  defects: fc.Arbitrary<Mutation>,
): fc.Arbitrary<SpecCase> {
  return fc.oneof(
    valid.map((spec) => ({ kind, spec })),
    fc.tuple(valid, defects).map(([spec, [what, field, apply]]) => {
      const broken = structuredClone(spec);
      apply(broken);
      return { kind, spec: broken, defect: { what, field } };
    }),
  );
}

/** Integrations and bearer tokens, about half of each valid. */
export const specCase: fc.Arbitrary<SpecCase> = fc.oneof(
  withDefect("DataTrailsIntegration", validIntegration, integrationDefects),
  withDefect("BearerToken", validBearerToken, bearerTokenDefects),
);
