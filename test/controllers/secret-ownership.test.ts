/**
 * Never take a Secret from its owner: the operator writes, owns or deletes only what it created or
 * was told to take over, and two objects naming one Secret or one application never fight. Each
 * case makes its own objects; the foreign Secret's bytes, owners and keys are compared before and
 * after, and the refused object carries a reason that names what holds the thing it wanted.
 */
import type { V1Secret } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ownerClaimName } from "../../src/api/v1alpha1/index.ts";
import { holderUidAnnotation } from "../../src/controllers/secret-claim.ts";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { kubectl, kubectlOk, waitForCondition } from "../support/kubectl.ts";
import { conditionOf, createApplication, readTokenSecret, type Condition } from "../tokens/support.ts";
import {
  bearerTokenManifest,
  dataTrailsIssuer,
  integrationManifest,
  secretManifest,
} from "../support/manifests.ts";

const ns = "it-ownership";
let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv([ns], ["--resync-interval-ms=2000"]);
});
afterAll(async () => {
  await env?.stop();
});

async function userSecret(name: string, data: Record<string, string>): Promise<V1Secret> {
  await kubectlOk(["apply", "-f", "-"], secretManifest(ns, name, data, { labels: { team: "a" } }));
  return env.core.readNamespacedSecret({ name, namespace: ns });
}

/** What must not change in a Secret that is not ours. */
function fingerprint(s: V1Secret) {
  return {
    resourceVersion: s.metadata?.resourceVersion,
    data: s.data,
    labels: s.metadata?.labels,
    annotations: s.metadata?.annotations ?? {},
    ownerReferences: s.metadata?.ownerReferences ?? [],
    type: s.type,
  };
}

async function readSecret(name: string): Promise<V1Secret | undefined> {
  try {
    return await env.core.readNamespacedSecret({ name, namespace: ns });
  } catch {
    return undefined;
  }
}

async function conditionOfObject(kind: string, name: string, type: string): Promise<Condition | undefined> {
  const out = await kubectl(["get", kind, name, "-n", ns, "-o", "json"]);
  if (out.status !== 0) return undefined;
  return conditionOf(JSON.parse(out.stdout) as { status?: { conditions?: Condition[] } }, type);
}

async function waitForReason(kind: string, name: string, type: string, reason: string): Promise<Condition> {
  await expect
    .poll(async () => (await conditionOfObject(kind, name, type))?.reason, { timeout: 30_000, interval: 250 })
    .toBe(reason);
  const c = await conditionOfObject(kind, name, type);
  if (!c) throw new Error("condition vanished");
  return c;
}

async function waitReady(kind: string, name: string): Promise<void> {
  await waitForCondition(ns, `${kind}/${name}`, "Ready");
}

async function eventReasons(name: string): Promise<string[]> {
  const out = await kubectlOk([
    "get",
    "events",
    "-n",
    ns,
    "--field-selector",
    `involvedObject.name=${name}`,
    "-o",
    "jsonpath={.items[*].reason}",
  ]);
  return out.split(/\s+/).filter(Boolean);
}

const appsNamed = (displayName: string) =>
  env.emulator.control.applications().filter((a) => a.displayName === displayName);

/** Lets the operator look a few times (resync is 2 s) before the "nothing changed" assertions. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 5_000));

describe("output Secrets that are not the operator's", () => {
  it("leaves a user's Secret named like the credentials Secret byte for byte and creates nothing", async () => {
    const before = fingerprint(
      await userSecret("mine-credentials", { foo: "bar", client_secret: "users-own" }),
    );
    await kubectlOk(["apply", "-f", "-"], integrationManifest(ns, "mine", { displayName: "own-mine" }));
    const c = await waitForReason("datatrailsintegration", "mine", "Ready", "SecretNotOwned");
    expect(c.message).toContain("Secret mine-credentials exists and was not created by the operator");
    await settle();
    const after = await readSecret("mine-credentials");
    expect(after && fingerprint(after)).toEqual(before);
    expect(appsNamed("own-mine")).toHaveLength(0);
    expect(await eventReasons("mine")).toContain("SecretNotOwned");
  });

  it("with existingSecretPolicy Merge writes its keys into a user's Secret, keeps the user's, and does not own it", async () => {
    await userSecret("merge-credentials", { foo: "bar" });
    await kubectlOk(
      ["apply", "-f", "-"],
      integrationManifest(ns, "merge", {
        displayName: "own-merge",
        credentialsSecret: { existingSecretPolicy: "Merge" },
      }),
    );
    await waitReady("datatrailsintegration", "merge");
    const secret = await readSecret("merge-credentials");
    const keys = Object.keys(secret?.data ?? {}).sort();
    expect(keys).toEqual(["client_id", "client_secret", "foo", "token_url", "url"]);
    expect(Buffer.from(secret?.data?.["foo"] ?? "", "base64").toString()).toBe("bar");
    expect(secret?.metadata?.ownerReferences ?? []).toEqual([]);
    expect(secret?.metadata?.labels?.["team"]).toBe("a");
    expect(appsNamed("own-merge")).toHaveLength(1);
  });

  it("with existingSecretPolicy Adopt takes over a user's Secret and owns it", async () => {
    await userSecret("adopt-credentials", { foo: "bar" });
    await kubectlOk(
      ["apply", "-f", "-"],
      integrationManifest(ns, "adopt", {
        displayName: "own-adopt",
        credentialsSecret: { existingSecretPolicy: "Adopt" },
      }),
    );
    await waitReady("datatrailsintegration", "adopt");
    const secret = await readSecret("adopt-credentials");
    const uid = await kubectlOk([
      "get",
      "datatrailsintegration",
      "adopt",
      "-n",
      ns,
      "-o",
      "jsonpath={.metadata.uid}",
    ]);
    expect(secret?.metadata?.ownerReferences?.map((o) => o.uid)).toEqual([uid]);
    expect(Buffer.from(secret?.data?.["foo"] ?? "", "base64").toString()).toBe("bar");
  });

  it("refuses the second of two integrations naming one credentials Secret, and the first keeps its application", async () => {
    await kubectlOk(
      ["apply", "-f", "-"],
      integrationManifest(ns, "own-b", { displayName: "own-b", credentialsSecret: { name: "shared-creds" } }),
    );
    await waitReady("datatrailsintegration", "own-b");
    const before = fingerprint((await readSecret("shared-creds")) as V1Secret);
    await kubectlOk(
      ["apply", "-f", "-"],
      integrationManifest(ns, "own-c", { displayName: "own-c", credentialsSecret: { name: "shared-creds" } }),
    );
    const c = await waitForReason("datatrailsintegration", "own-c", "Ready", "SecretInUse");
    expect(c.message).toContain("Secret shared-creds is held by DataTrailsIntegration own-b");
    await settle();
    expect(fingerprint((await readSecret("shared-creds")) as V1Secret)).toEqual(before);
    expect([appsNamed("own-b").length, appsNamed("own-c").length]).toEqual([1, 0]);

    await kubectlOk(["delete", "datatrailsintegration", "own-c", "-n", ns, "--timeout=30s"]);
    expect(appsNamed("own-b")).toHaveLength(1);
    expect((await conditionOfObject("datatrailsintegration", "own-b", "Ready"))?.status).toBe("True");
  });

  it("refuses a BearerToken that names an integration's token Secret, whose keys stay as they are", async () => {
    await kubectlOk(["apply", "-f", "-"], integrationManifest(ns, "tk", { displayName: "own-tk" }));
    await waitReady("datatrailsintegration", "tk");
    await userSecret("tk-user-creds", { client_id: "x", client_secret: "y" });
    const before = await readTokenSecret(env, ns, "tk-token");
    await kubectlOk(["apply", "-f", "-"], {
      ...bearerTokenManifest(ns, "user-bt", {
        dataTrails: dataTrailsIssuer("tk-user-creds", env.emulator.url),
      }),
      spec: { secretName: "tk-token", dataTrails: { credentialsSecretRef: { name: "tk-user-creds" } } },
    });
    const c = await waitForReason("bearertoken", "user-bt", "Ready", "SecretInUse");
    expect(c.message).toContain("Secret tk-token is held by BearerToken tk");
    await settle();
    const after = await readTokenSecret(env, ns, "tk-token");
    expect(after?.resourceVersion).toBe(before?.resourceVersion);
    expect(await eventReasons("user-bt")).toContain("SecretInUse");
  });

  it("refuses a BearerToken whose token Secret is a user's, and fetches no token", async () => {
    const before = fingerprint(await userSecret("bt-foreign-token", { note: "mine" }));
    const creds = await createApplication(env.emulator, "own-bt-foreign");
    await userSecret("bt-foreign-creds", { client_id: creds.clientId, client_secret: creds.clientSecret });
    await kubectlOk(["apply", "-f", "-"], {
      ...bearerTokenManifest(ns, "bt-foreign", {
        dataTrails: dataTrailsIssuer("bt-foreign-creds", env.emulator.url),
      }),
      spec: {
        secretName: "bt-foreign-token",
        dataTrails: { credentialsSecretRef: { name: "bt-foreign-creds" }, url: env.emulator.url },
      },
    });
    await waitForReason("bearertoken", "bt-foreign", "TokenReady", "SecretNotOwned");
    await settle();
    expect(fingerprint((await readSecret("bt-foreign-token")) as V1Secret)).toEqual(before);
    // Every fetch leaves tokenIssuedAt (these credentials work) or lastFailure in status: none happened.
    const status = JSON.parse(
      await kubectlOk(["get", "bearertoken", "bt-foreign", "-n", ns, "-o", "json"]),
    ) as {
      status?: Record<string, unknown>;
    };
    expect([status.status?.["tokenIssuedAt"], status.status?.["lastFailure"]]).toEqual([
      undefined,
      undefined,
    ]);
  });
});

describe("admission refuses what it can", () => {
  // Each row is refused by the API server before the operator sees it.
  it.each([
    {
      name: "a BearerToken writing into its own input Secret",
      manifest: bearerTokenManifest(ns, "self-input", {
        secretName: "loop",
        dataTrails: dataTrailsIssuer("loop"),
      }),
      message: "spec.secretName must differ from the Secret the issuer reads",
    },
    {
      name: "an integration naming one Secret for credentials and token",
      manifest: integrationManifest(ns, "twice", {
        credentialsSecret: { name: "same" },
        token: { secretName: "same" },
      }),
      message: "spec.token.secretName must differ from spec.credentialsSecret.name",
    },
    {
      name: "an access policy whose permission grants nothing",
      manifest: integrationManifest(ns, "grants-nothing", {
        accessPolicies: [
          {
            name: "empty",
            filters: [["attributes.arc_display_type=Traffic Light"]],
            permissions: { behaviours: ["RecordEvidence"] },
          },
        ],
      }),
      message: "permissions must grant something",
    },
  ])("$name", async ({ manifest, message }) => {
    const out = await kubectl(["apply", "-f", "-"], manifest);
    expect(out.status).not.toBe(0);
    expect(out.stderr).toContain(message);
  });
});

describe("applications held by another integration", () => {
  it("an integration told to adopt another integration's application is refused and changes nothing", async () => {
    await kubectlOk(["apply", "-f", "-"], integrationManifest(ns, "app-b", { displayName: "own-app-b" }));
    await waitReady("datatrailsintegration", "app-b");
    const [held] = appsNamed("own-app-b");
    if (!held) throw new Error("no application for app-b");
    const patchesBefore = env.emulator.control.count("applications.update");
    await kubectlOk(
      ["apply", "-f", "-"],
      integrationManifest(ns, "app-c", { displayName: "own-app-c", adopt: { identity: held.identity } }),
    );
    const c = await waitForReason("datatrailsintegration", "app-c", "Ready", "ApplicationInUse");
    expect(c.message).toContain(`belongs to DataTrailsIntegration ${ns}/app-b`);
    await settle();
    const [after] = env.emulator.control.applications().filter((a) => a.identity === held.identity);
    expect(after?.displayName).toBe("own-app-b");
    expect(after?.customClaims[ownerClaimName]).toBe(held.customClaims[ownerClaimName]);
    expect(after?.secretSha256).toBe(held.secretSha256);
    expect(env.emulator.control.count("applications.update")).toBe(patchesBefore);

    await kubectlOk(["delete", "datatrailsintegration", "app-c", "-n", ns, "--timeout=30s"]);
    expect(env.emulator.control.applications().some((a) => a.identity === held.identity)).toBe(true);
  });
});

describe("upgrades and inputs", () => {
  it("recognises a credentials Secret written before holders were recorded (ownerReference only)", async () => {
    await kubectlOk(["apply", "-f", "-"], integrationManifest(ns, "legacy", { displayName: "own-legacy" }));
    await waitReady("datatrailsintegration", "legacy");
    await kubectlOk([
      "annotate",
      "secret",
      "legacy-credentials",
      "-n",
      ns,
      "datatrails.ai/holder-",
      `${holderUidAnnotation}-`,
    ]);
    await kubectlOk(["annotate", "datatrailsintegration", "legacy", "-n", ns, "datatrails.ai/rotate=1"]);
    await expect
      .poll(
        async () => (await readSecret("legacy-credentials"))?.metadata?.annotations?.[holderUidAnnotation],
        {
          timeout: 30_000,
        },
      )
      .toBeTruthy();
    await waitReady("datatrailsintegration", "legacy");
  });

  it("uses a user's rotated credentials Secret within 10 s, long before the token is due", async () => {
    const first = await createApplication(env.emulator, "own-rotating");
    await userSecret("rotating-creds", { client_id: first.clientId, client_secret: first.clientSecret });
    await kubectlOk(
      ["apply", "-f", "-"],
      bearerTokenManifest(ns, "rotating", {
        dataTrails: dataTrailsIssuer("rotating-creds", env.emulator.url),
      }),
    );
    await waitReady("bearertoken", "rotating");
    const before = await readTokenSecret(env, ns, "rotating-token");
    const second = await createApplication(env.emulator, "own-rotating-2");
    const changedAt = Date.now();
    await userSecret("rotating-creds", { client_id: second.clientId, client_secret: second.clientSecret });
    await expect
      .poll(
        async () =>
          (await readTokenSecret(env, ns, "rotating-token"))?.annotations["datatrails.ai/inputs-version"],
        {
          timeout: 10_000,
          interval: 200,
        },
      )
      .not.toBe(before?.annotations["datatrails.ai/inputs-version"]);
    expect(Date.now() - changedAt).toBeLessThan(10_000);
    const jwt = (await readTokenSecret(env, ns, "rotating-token"))?.data["access_token"] ?? "";
    const { sub } = JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString()) as {
      sub: string;
    };
    expect(sub).toBe(second.clientId);
  });
});
