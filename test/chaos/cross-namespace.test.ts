/**
 * Tenancy under attack (design.md invariant 7): a tenant in namespace `attacker` names the Secrets of
 * namespace `victim` through every field that names a Secret (credentialsSecret, token.secretName,
 * a DataTrailsConnection's credentialsSecretRef, a BearerToken's secretName and the dataTrails,
 * oauth2ClientCredentials and jwtBearer Secret refs), with and without a smuggled `namespace` key.
 * The operator runs with cluster-admin rights here, so nothing but its own code stops it. Afterwards:
 * every victim Secret is byte-for-byte and resourceVersion unchanged, nothing read from the victim
 * reached the attacker (no token from the victim's credentials, no application made with the
 * victim's admin credentials), and every attempt was refused by the API server (a smuggled
 * `namespace` key is an unknown field), found no Secret (SecretNotFound), or was contained: the
 * Secret of that name was written in the attacker's own namespace. Cluster connections' allowed namespaces: test/controllers/tenancy.test.ts.
 */
import { createHash } from "node:crypto";
import type { V1Secret } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { kubectl, kubectlOk } from "../support/kubectl.ts";
import { reportFigures } from "./support.ts";
import {
  clientSecretManifest,
  integrationManifest,
  secretManifest,
  untypedResource,
} from "../support/manifests.ts";

const attacker = "chaos-attacker";
const victim = "chaos-victim";
let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv([attacker, victim]);
  // The victim: an integration with working credentials and a token, an admin Secret under a name
  // the attacker's namespace lacks, and a private key.
  await kubectlOk(
    ["apply", "-f", "-"],
    [
      integrationManifest(victim, "victim-app"),
      clientSecretManifest(victim, env.emulator.admin, "victim-admin"),
      // Secrets the attacker's objects will name as Secrets to write.
      ...["victim-target-1", "victim-target-2", "victim-target-3"].map((name) =>
        secretManifest(victim, name, { note: "the victim's own data" }),
      ),
      secretManifest(victim, "victim-key", {
        private_key: "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
      }),
    ],
  );
  await kubectlOk([
    "wait",
    "--for=condition=Ready",
    "--timeout=60s",
    "-n",
    victim,
    "datatrailsintegration/victim-app",
  ]);
}, 180_000);
afterAll(async () => {
  if (env) reportFigures("hygiene", undefined, { file: "cross-namespace", leaks: 0, ...(await env.stop()) });
});

/** name → resourceVersion and a hash of the data, for every Secret in the namespace. */
async function fingerprint(namespace: string): Promise<Map<string, string>> {
  const secrets = await env.core.listNamespacedSecret({ namespace });
  return new Map(
    secrets.items.map((s: V1Secret) => [
      s.metadata?.name ?? "",
      `${s.metadata?.resourceVersion}/${createHash("sha256")
        .update(JSON.stringify(s.data ?? {}))
        .digest("hex")}`,
    ]),
  );
}

async function readyOf(kind: string, name: string): Promise<string> {
  return kubectlOk([
    "get",
    kind,
    name,
    "-n",
    attacker,
    "-o",
    'jsonpath={.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason}',
  ]);
}

// The attacker's objects smuggle fields the schema has not (a `namespace` in a Secret reference).
const bearerToken = (name: string, spec: Record<string, unknown>) =>
  untypedResource("BearerToken", attacker, name, spec);
const tokenUrl = () => `${env.emulator.url}/archivist/iam/v1/appidp/token`;

interface Attempt {
  name: string;
  objects: () => object[];
  /**
   * How it must end: `refused` names the field the API server refuses (a smuggled `namespace` key
   * is an unknown field, and kubectl validates strictly); otherwise the Ready condition an object
   * must reach.
   */
  verdict: { refused: string } | { kind: string; name: string; ready: string };
}

const connection = (name: string, ref: Record<string, string>) =>
  untypedResource("DataTrailsConnection", attacker, name, {
    url: env.emulator.url,
    credentialsSecretRef: ref,
  });
const onConnection = (name: string, connectionName: string) =>
  integrationManifest(attacker, name, { connectionRef: { name: connectionName } });
const jwtBearer = (ref: Record<string, string>) => ({
  tokenUrl: tokenUrl(),
  privateKeySecretRef: ref,
  issuer: "i",
  audience: "a",
});

const attempts: Attempt[] = [
  {
    name: "credentialsSecret named after a victim Secret",
    objects: () => [integrationManifest(attacker, "a1", { credentialsSecret: { name: "victim-target-1" } })],
    // Contained: the operator writes its own Secret of that name in the attacker's namespace.
    verdict: { kind: "datatrailsintegration", name: "a1", ready: "True/Ready" },
  },
  {
    name: "token.secretName named after a victim Secret",
    objects: () => [integrationManifest(attacker, "a2", { token: { secretName: "victim-target-2" } })],
    verdict: { kind: "datatrailsintegration", name: "a2", ready: "True/Ready" },
  },
  {
    name: "a DataTrailsConnection on the victim's admin Secret, namespace smuggled",
    objects: () => [connection("stolen-ns", { name: "victim-admin", namespace: victim })],
    verdict: { refused: "spec.credentialsSecretRef.namespace" },
  },
  {
    name: "a DataTrailsConnection on the victim's admin Secret, by name",
    objects: () => [connection("stolen", { name: "victim-admin" }), onConnection("a3", "stolen")],
    verdict: { kind: "datatrailsintegration", name: "a3", ready: "False/SecretNotFound" },
  },
  {
    name: "a dataTrails BearerToken on the victim's credentials, namespace smuggled",
    objects: () => [
      bearerToken("a4-ns", {
        secretName: "a4-ns-token",
        dataTrails: { credentialsSecretRef: { name: "victim-app-credentials", namespace: victim } },
      }),
    ],
    verdict: { refused: "spec.dataTrails.credentialsSecretRef.namespace" },
  },
  {
    name: "a dataTrails BearerToken on the victim's credentials, by name",
    objects: () => [
      bearerToken("a4", {
        secretName: "a4-token",
        dataTrails: { credentialsSecretRef: { name: "victim-app-credentials" }, url: env.emulator.url },
      }),
    ],
    verdict: { kind: "bearertoken", name: "a4", ready: "False/SecretNotFound" },
  },
  {
    name: "an oauth2ClientCredentials BearerToken on the victim's credentials",
    objects: () => [
      bearerToken("a5", {
        secretName: "a5-token",
        oauth2ClientCredentials: {
          tokenUrl: tokenUrl(),
          credentialsSecretRef: { name: "victim-app-credentials" },
        },
      }),
    ],
    verdict: { kind: "bearertoken", name: "a5", ready: "False/SecretNotFound" },
  },
  {
    name: "a jwtBearer BearerToken on the victim's private key, namespace smuggled",
    objects: () => [
      bearerToken("a6-ns", {
        secretName: "a6-ns-token",
        jwtBearer: jwtBearer({ name: "victim-key", namespace: victim }),
      }),
    ],
    verdict: { refused: "spec.jwtBearer.privateKeySecretRef.namespace" },
  },
  {
    name: "a jwtBearer BearerToken on the victim's private key, by name",
    objects: () => [
      bearerToken("a6", { secretName: "a6-token", jwtBearer: jwtBearer({ name: "victim-key" }) }),
    ],
    verdict: { kind: "bearertoken", name: "a6", ready: "False/SecretNotFound" },
  },
  {
    name: "a BearerToken writing to a victim Secret's name",
    objects: () => [
      bearerToken("a7", {
        secretName: "victim-target-3",
        // a1's credentials, in the attacker's namespace under a victim Secret's name: they work.
        dataTrails: { credentialsSecretRef: { name: "victim-target-1" }, url: env.emulator.url },
      }),
    ],
    verdict: { kind: "bearertoken", name: "a7", ready: "True/TokenValid" },
  },
];

describe("a tenant naming another namespace's Secrets", () => {
  it("never reads or writes a Secret outside its own namespace", async () => {
    const before = await fingerprint(victim);
    const appsBefore = env.emulator.control.applications().length;
    const outcomes: string[] = [];
    for (const attempt of attempts) {
      const result = await kubectl(["apply", "-f", "-"], attempt.objects());
      const verdict = attempt.verdict;
      if ("refused" in verdict) {
        expect(result.status, `${attempt.name} must be refused`).not.toBe(0);
        expect(result.stderr).toContain(`unknown field "${verdict.refused}"`);
        outcomes.push(`refused`);
        continue;
      }
      expect(result.status, `${attempt.name}: ${result.stderr}`).toBe(0);
      await expect
        .poll(() => readyOf(verdict.kind, verdict.name), { timeout: 60_000, interval: 500 })
        .toBe(verdict.ready);
      outcomes.push(verdict.ready);
    }

    const after = await fingerprint(victim);
    const changed = [...before].filter(([name, fp]) => after.get(name) !== fp).map(([name]) => name);
    const added = [...after.keys()].filter((name) => !before.has(name));
    const attackerSecrets = (await fingerprint(attacker)).size;
    const tokenSecretsForStolen = (
      await Promise.all(
        ["a4-token", "a5-token", "a6-token"].map((n) =>
          kubectlOk(["get", "secret", n, "-n", attacker, "--ignore-not-found", "-o", "name"]),
        ),
      )
    ).filter((out) => out.trim() !== "").length;
    // Only a1 and a2 may create applications (with the attacker's own connection); a3 must not.
    const appsMade = env.emulator.control.applications().length - appsBefore;

    reportFigures("cross-namespace", undefined, {
      attempts: attempts.length,
      refused: outcomes.filter((o) => o === "refused").length,
      contained: outcomes.filter((o) => o.startsWith("True")).length,
      secretNotFound: outcomes.filter((o) => o === "False/SecretNotFound").length,
      victimSecretsChanged: changed.length,
      victimSecretsAdded: added.length,
      tokenSecretsFromVictimCredentials: tokenSecretsForStolen,
      applicationsMade: appsMade,
      attackerSecrets,
    });
    // The contained writes happened, in the attacker's namespace.
    for (const name of ["victim-target-1", "victim-target-2", "victim-target-3"])
      expect(await kubectlOk(["get", "secret", name, "-n", attacker, "-o", "name"])).toContain(name);
    expect(changed, "victim Secrets changed").toEqual([]);
    expect(added, "Secrets added in the victim namespace").toEqual([]);
    expect(tokenSecretsForStolen).toBe(0);
    expect(env.emulator.control.applications().filter((a) => a.displayName === "a3")).toHaveLength(0);
    expect(appsMade).toBe(2);
  });
});
