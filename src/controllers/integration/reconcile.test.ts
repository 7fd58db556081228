/**
 * The integration reconciler at its seam: real gather → decide → apply → status, over an in-memory
 * cluster, Secret store and DataTrails (src/controllers/testing). Each case names what is given and
 * what one reconcile must then have done.
 */
import { describe, expect, it } from "vitest";
import { applicationFinalizer, ownerClaimName, rotateAnnotation } from "../../api/v1alpha1/index.ts";
import type { WorkResult } from "../../k8s/work-queue.ts";
import { httpError, type DataTrailsMethod } from "../testing/fake-datatrails-api.ts";
import { IntegrationWorld, namespace, resyncIntervalMs } from "../testing/integration-world.ts";
import { pendingCreateOf } from "./predicates.ts";

const name = "tl";
const key = `${namespace}/${name}`;
const secretName = `${name}-credentials`;

/** Brings the integration to Ready through the reconciler itself, as a running operator would. */
async function settledIntegration(w: IntegrationWorld, spec: Record<string, unknown> = {}): Promise<void> {
  w.addIntegration(name, spec);
  await w.reconcile(key);
  w.tokenIsReady(name);
  await w.reconcile(key);
  if (w.reason(name, "Ready") !== "Ready") throw new Error(`not settled: ${JSON.stringify(w.status(name))}`);
  w.api.calls.length = 0;
  w.secrets.writes.length = 0;
  w.events.length = 0;
}

interface Expected {
  /** The DataTrails calls that changed something, in order. */
  writes: DataTrailsMethod[];
  /** Reasons of conditions after the reconcile, by type. */
  reasons?: Record<string, string>;
  /** How the reconcile ended: done (maybe with a requeue), or failed for the queue's backoff. */
  ends: "done" | "backoff";
  /** Checked last, for what a case alone cares about. */
  also?: (w: IntegrationWorld, result: WorkResult | undefined) => void;
}

interface Case {
  name: string;
  given: (w: IntegrationWorld) => Promise<void> | void;
  expect: Expected;
}

const cases: Case[] = [
  {
    name: "a new integration is created: the application, its credentials Secret and its child; the status waits for the child's first token",
    given: (w) => w.addIntegration(name),
    expect: {
      writes: ["createApplication"],
      ends: "done",
      also: (w) => {
        const [app] = [...w.api.applications.values()];
        // Held until the child's first token (held-status.ts): the create-started mark stays meanwhile.
        expect(w.integration(name).status).toBeUndefined();
        expect(pendingCreateOf(w.integration(name))?.displayName).toBe(`app-${name}`);
        expect(w.secrets.values(namespace, secretName)).toMatchObject({
          client_id: app?.clientId,
          client_secret: app?.secret,
        });
        expect(w.secrets.writes).toEqual([`create ${namespace}/${secretName}`]);
        expect(w.integration(name).metadata.finalizers).toContain(applicationFinalizer);
        expect(w.tokens.has(name)).toBe(true);
        expect(w.events.map((e) => e.reason)).toEqual(["Created"]);
      },
    },
  },
  {
    name: "DataTrails answering 503 to the create is DataTrailsUnavailable, the pending mark kept",
    given: (w) => {
      w.addIntegration(name);
      w.api.failNext("createApplication", httpError(503, "create application"));
    },
    expect: {
      writes: ["createApplication"],
      reasons: { CredentialsReady: "DataTrailsUnavailable", Ready: "DataTrailsUnavailable" },
      ends: "backoff",
      also: (w) => {
        expect(pendingCreateOf(w.integration(name))?.displayName).toBe(`app-${name}`);
        expect(w.secrets.values(namespace, secretName)).toBeUndefined();
      },
    },
  },
  {
    name: "a create that crashed after the POST (the create-started mark, no status) is found by search: its secret regenerated, nothing created again",
    given: async (w) => {
      w.addIntegration(name);
      w.api.failNext("createApplication", httpError(503, "create application"));
      await w.reconcile(key).catch(() => undefined);
      // As if the create had reached DataTrails and the process died before anything else.
      await w.api.createApplication({
        displayName: `app-${name}`,
        customClaims: { [ownerClaimName]: w.integration(name).metadata.uid },
      });
      w.edit(name, (o) => delete o.status);
    },
    expect: {
      writes: ["regenerateSecret"],
      reasons: { CredentialsReady: "Ready" },
      ends: "done",
      also: (w) => {
        expect(w.api.applications.size).toBe(1);
        expect(w.status(name).applicationIdentity).toBe([...w.api.applications.values()][0]?.identity);
        expect(pendingCreateOf(w.integration(name))).toBeUndefined();
      },
    },
  },
  {
    name: "DataTrails answering 403 to the create is AdminUnauthorized",
    given: (w) => {
      w.addIntegration(name);
      w.api.failNext("createApplication", httpError(403, "create application"));
    },
    expect: {
      writes: ["createApplication"],
      reasons: { CredentialsReady: "AdminUnauthorized", Ready: "AdminUnauthorized" },
      ends: "backoff",
    },
  },
  {
    name: "DataTrails answering 402 to the create is QuotaExceeded",
    given: (w) => {
      w.addIntegration(name);
      w.api.failNext("createApplication", httpError(402, "create application"));
    },
    expect: {
      writes: ["createApplication"],
      reasons: { CredentialsReady: "QuotaExceeded" },
      ends: "backoff",
    },
  },
  {
    name: "DataTrails answering 429 is RateLimited, looked at again when it asked",
    given: (w) => {
      w.addIntegration(name);
      w.api.failNext("createApplication", httpError(429, "create application", 7_000));
    },
    expect: {
      writes: ["createApplication"],
      reasons: { CredentialsReady: "RateLimited" },
      ends: "done",
      also: (_w, result) => expect(result).toEqual({ requeueAfterMs: 7_000 }),
    },
  },
  {
    name: "a changed credentials template rewrites the Secret from its values: no regeneration, no token check, the child told the new key names",
    given: async (w) => {
      await settledIntegration(w);
      w.edit(
        name,
        (o) => {
          o.spec.credentialsSecret = {
            template: { keys: { client_secret: "secret" }, renderings: ["Dotenv"] },
          };
        },
        true,
      );
    },
    expect: {
      writes: [],
      reasons: { CredentialsReady: "Ready", Ready: "Ready" },
      ends: "done",
      also: (w) => {
        const [app] = [...w.api.applications.values()];
        const values = w.secrets.values(namespace, secretName) ?? {};
        expect(values["secret"]).toBe(app?.secret);
        expect(values["client_secret"]).toBeUndefined();
        expect(values[".env"]).toContain(`DATATRAILS_CLIENT_ID=${app?.clientId ?? "?"}\n`);
        expect(w.secrets.writes).toEqual([`apply ${namespace}/${secretName}`]);
        expect(w.api.calls).not.toContain("getToken");
        expect(w.tokens.get(name)?.spec.dataTrails?.credentialsSecretRef).toMatchObject({
          clientSecretKey: "secret",
        });
      },
    },
  },
  {
    name: "reading the application failing with 500 is DataTrailsUnavailable, and nothing is written",
    given: async (w) => {
      await settledIntegration(w);
      w.edit(name, (o) => (o.metadata.annotations = { touched: "1" }));
      w.api.failNext("getApplication", httpError(500, "get application"));
    },
    expect: {
      writes: [],
      reasons: { CredentialsReady: "DataTrailsUnavailable", Ready: "DataTrailsUnavailable" },
      ends: "backoff",
    },
  },
  {
    name: "a policy step that DataTrails fails is AccessPolicyFailed on AccessPoliciesReady",
    given: async (w) => {
      await settledIntegration(w);
      w.edit(
        name,
        (o) => {
          o.spec.accessPolicies = [
            {
              name: "read",
              filters: [["attributes.arc_display_type=Traffic Light"]],
              permissions: { assetAttributesRead: ["*"] },
            },
          ] as unknown as typeof o.spec.accessPolicies;
        },
        true,
      );
      w.api.failNext("createAccessPolicy", httpError(500, "create access policy"));
    },
    expect: {
      writes: ["createAccessPolicy"],
      reasons: {
        AccessPoliciesReady: "AccessPolicyFailed",
        Ready: "AccessPolicyFailed",
        CredentialsReady: "Ready",
      },
      ends: "backoff",
      also: (w) => {
        // The write-ahead mark of the policy's create stays for the next reconcile's search.
        const entries = w.status(name).accessPolicies ?? [];
        expect(entries.map((e) => [e.name, e.identity, typeof e.pendingCreateAt])).toEqual([
          ["read", undefined, "string"],
        ]);
      },
    },
  },
  {
    name: "the first look after a restart at a settled integration asks DataTrails nothing",
    given: async (w) => {
      await settledIntegration(w);
      w.restart();
    },
    expect: {
      writes: [],
      reasons: { Ready: "Ready" },
      ends: "done",
      also: (w, result) => {
        expect(w.api.calls).toEqual([]);
        expect(w.secrets.writes).toEqual([]);
        const after = result?.requeueAfterMs ?? 0;
        expect(after).toBeGreaterThanOrEqual(resyncIntervalMs * 0.1);
        expect(after).toBeLessThanOrEqual(resyncIntervalMs);
      },
    },
  },
  {
    name: "a rotation asked for by annotation regenerates the secret and writes it",
    given: async (w) => {
      await settledIntegration(w);
      await w.clock.advance(1_000);
      w.edit(name, (o) => (o.metadata.annotations = { [rotateAnnotation]: "r1" }));
    },
    expect: {
      writes: ["regenerateSecret"],
      reasons: { CredentialsReady: "Ready" },
      ends: "done",
      also: (w) => {
        const [app] = [...w.api.applications.values()];
        expect(w.secrets.values(namespace, secretName)?.["client_secret"]).toBe(app?.secret);
        expect(w.status(name).lastRotateRequest).toBe("r1");
        expect(w.status(name).pendingRotation).toBeUndefined();
        expect(w.events.map((e) => e.reason)).toEqual(["SecretRotated"]);
      },
    },
  },
  {
    name: "a suspended integration asks DataTrails nothing, not even a read, over a rotate request",
    given: async (w) => {
      await settledIntegration(w);
      w.edit(
        name,
        (o) => {
          o.spec.suspend = true;
          o.metadata.annotations = { [rotateAnnotation]: "r1" };
        },
        true,
      );
    },
    expect: {
      writes: [],
      reasons: { Suspended: "Suspended", CredentialsReady: "Ready" },
      ends: "done",
      also: (w, result) => {
        expect(w.api.calls).toEqual([]);
        expect(w.secrets.writes).toEqual([]);
        expect(w.tokens.get(name)?.spec.suspend).toBe(true);
        expect(w.status(name).lastRotateRequest).toBeUndefined();
        expect(w.events.map((e) => e.reason)).toEqual(["Suspended"]);
        expect(result?.requeueAfterMs).toBeUndefined();
      },
    },
  },
  {
    name: "resuming does the rotation that waited, once, and tells the child",
    given: async (w) => {
      await settledIntegration(w);
      w.edit(name, (o) => (o.spec.suspend = true), true);
      await w.reconcile(key);
      w.edit(name, (o) => (o.metadata.annotations = { [rotateAnnotation]: "r1" }));
      await w.reconcile(key);
      w.events.length = 0;
      w.edit(name, (o) => (o.spec.suspend = false), true);
    },
    expect: {
      writes: ["regenerateSecret"],
      reasons: { CredentialsReady: "Ready" },
      ends: "done",
      also: (w) => {
        expect(w.status(name).lastRotateRequest).toBe("r1");
        expect(w.status(name).conditions?.find((c) => c.type === "Suspended")).toBeUndefined();
        expect(w.tokens.get(name)?.spec.suspend).toBeUndefined();
        expect(w.events.map((e) => e.reason)).toEqual(["Resumed", "SecretRotated"]);
      },
    },
  },
  {
    name: "deleting a suspended integration waits with DeleteSuspended, the application kept",
    given: async (w) => {
      await settledIntegration(w);
      w.edit(name, (o) => (o.spec.suspend = true), true);
      await w.reconcile(key);
      w.edit(name, (o) => (o.metadata.deletionTimestamp = new Date(w.clock.now()).toISOString()));
    },
    expect: {
      writes: [],
      reasons: { Ready: "DeleteSuspended", Suspended: "Suspended" },
      ends: "done",
      also: (w) => {
        expect(w.api.calls).toEqual([]);
        expect(w.api.applications.size).toBe(1);
        expect(w.integration(name).metadata.finalizers).toContain(applicationFinalizer);
      },
    },
  },
  {
    name: "deleting the integration deletes the application, then the finalizer goes",
    given: async (w) => {
      await settledIntegration(w);
      w.edit(name, (o) => (o.metadata.deletionTimestamp = new Date(w.clock.now()).toISOString()));
    },
    expect: {
      writes: ["deleteApplication"],
      ends: "done",
      also: (w) => {
        expect(w.api.applications.size).toBe(0);
        expect(w.integrations.has(name)).toBe(false);
      },
    },
  },
  {
    name: "deleting while DataTrails is down waits with DeleteBlocked and keeps the finalizer",
    given: async (w) => {
      await settledIntegration(w);
      w.edit(name, (o) => (o.metadata.deletionTimestamp = new Date(w.clock.now()).toISOString()));
      w.api.failNext("getApplication", httpError(503, "get application"));
    },
    expect: {
      writes: [],
      reasons: { CredentialsReady: "DeleteBlocked", Ready: "DeleteBlocked" },
      ends: "backoff",
      also: (w) => {
        expect(w.api.applications.size).toBe(1);
        expect(w.integration(name).metadata.finalizers).toContain(applicationFinalizer);
        expect(w.events.map((e) => e.reason)).toEqual(["DeleteBlocked"]);
      },
    },
  },
];

describe("integration reconcile", () => {
  it.each(cases)("$name", async ({ given, expect: want }) => {
    const w = new IntegrationWorld();
    await given(w);
    w.api.calls.length = 0;

    let result: WorkResult | undefined;
    let failed = false;
    try {
      result = await w.reconcile(key);
    } catch {
      failed = true;
    }

    expect(failed ? "backoff" : "done").toBe(want.ends);
    expect(w.api.writes()).toEqual(want.writes);
    for (const [type, reason] of Object.entries(want.reasons ?? {}))
      expect(w.reason(name, type)).toBe(reason);
    want.also?.(w, result);
  });
});

describe("Kubernetes calls of a create (issue #16)", () => {
  it("a create and the pass its child's first token wakes read one Secret and write marks, Secret, child and status", async () => {
    const w = new IntegrationWorld();
    w.addIntegration(name);
    await w.reconcile(key);
    w.tokenIsReady(name);
    await w.reconcile(key);

    expect(w.reason(name, "Ready")).toBe("Ready");
    // The credentials Secret once, on the first look (a user's Secret could hold the name); the
    // admin Secret never: the connection recorded its version, and the first read of it is shared.
    expect(w.secrets.reads).toEqual([`${namespace}/${secretName}`, `${namespace}/dt-admin`]);
    expect(w.secrets.writes).toEqual([`create ${namespace}/${secretName}`]);
    // One status write: the identity goes with Ready, once the child has its first token.
    expect(w.kubeWrites).toEqual(["patch", "apply", "status"]);
    expect(w.status(name).applicationIdentity).toBe([...w.api.applications.values()][0]?.identity);
    expect(pendingCreateOf(w.integration(name))).toBeUndefined();
    expect(w.events.map((e) => e.reason)).toEqual(["Created"]);
  });

  it("a create's status held for the child's first token is written after 30 s without it", async () => {
    const w = new IntegrationWorld();
    w.addIntegration(name);
    const first = await w.reconcile(key);
    expect(w.integration(name).status).toBeUndefined();
    expect(first?.requeueAfterMs).toBe(30_000);
    // A pass within the limit (the child appearing, say) holds it still, and asks again by the limit.
    await w.clock.advance(10_000);
    expect((await w.reconcile(key))?.requeueAfterMs).toBe(20_000);
    expect(w.integration(name).status).toBeUndefined();
    await w.clock.advance(20_000);
    await w.reconcile(key);
    expect(w.reason(name, "CredentialsReady")).toBe("Ready");
    expect(w.reason(name, "TokenReady")).toBe("Reconciling");
    expect(w.status(name).applicationIdentity).toBe([...w.api.applications.values()][0]?.identity);
    expect(w.api.writes()).toEqual(["createApplication"]);
  });

  it("the pass a held status asked for, once the child's token wrote it, asks DataTrails nothing", async () => {
    const w = new IntegrationWorld();
    w.addIntegration(name);
    await w.reconcile(key);
    w.tokenIsReady(name);
    await w.reconcile(key);
    expect(w.reason(name, "Ready")).toBe("Ready");
    await w.clock.advance(30_000);
    w.api.calls.length = 0;
    expect((await w.reconcile(key))?.requeueAfterMs).toBe(resyncIntervalMs);
    expect(w.api.calls).toEqual([]);
    // The passes after it are drift checks again.
    await w.reconcile(key);
    expect(w.api.calls).toEqual(["getApplication"]);
  });

  it("a restart that loses a held status finds the application by search and keeps the stored secret", async () => {
    const w = new IntegrationWorld();
    w.addIntegration(name);
    await w.reconcile(key);
    const secret = w.secrets.values(namespace, secretName);
    w.restart();
    w.tokenIsReady(name);
    await w.reconcile(key);
    expect(w.reason(name, "Ready")).toBe("Ready");
    expect(w.status(name).applicationIdentity).toBe([...w.api.applications.values()][0]?.identity);
    // No second create and no regenerate: the stored secret was tried once and kept.
    expect(w.api.writes()).toEqual(["createApplication"]);
    expect(w.secrets.values(namespace, secretName)).toEqual(secret);
  });

  it("a user's Secret the first look's name list did not show yet refuses the create's Secret; nothing of theirs is written", async () => {
    const w = new IntegrationWorld();
    const theirs = w.secrets.put({ metadata: { name: secretName, namespace }, data: { note: "dGhlaXJz" } });
    w.unlisted.add(secretName);
    w.addIntegration(name);
    await expect(w.reconcile(key)).rejects.toMatchObject({ code: "AlreadyExists" });
    // The next look reads the Secret (the create-started mark is there) and is refused, asking
    // DataTrails nothing; the application created carries this object's UID, so a fixed name
    // regenerates its secret and a deletion deletes it.
    await w.reconcile(key);
    expect(w.reason(name, "CredentialsReady")).toBe("SecretNotOwned");
    expect(w.api.writes()).toEqual(["createApplication"]);
    expect((await w.secrets.get(namespace, secretName))?.metadata?.resourceVersion).toBe(theirs);
    w.edit(name, (o) => (o.spec.credentialsSecret = { name: "fixed-credentials" }), true);
    await w.reconcile(key);
    expect(w.api.writes()).toEqual(["createApplication", "regenerateSecret"]);
    expect(w.reason(name, "CredentialsReady")).toBe("Ready");
  });

  it("a second integration on the same connection does not read the admin Secret again", async () => {
    const w = new IntegrationWorld();
    w.addIntegration(name);
    w.addIntegration("other");
    await w.reconcile(key);
    await w.reconcile(`${namespace}/other`);
    expect(w.secrets.reads.filter((r) => r === `${namespace}/dt-admin`)).toHaveLength(1);
  });
});
