/**
 * spec.reload end to end: real Deployments, StatefulSets and DaemonSets in the control plane (no
 * kube-controller-manager: the test reads their pod templates, where a roll shows), integrations
 * and BearerTokens rotated through the emulator, and the operator running on this file's namespace.
 */
import { join } from "node:path";
import { AppsV1Api, EventsV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubectl, kubectlOk, waitForCondition } from "../support/kubectl.ts";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import {
  bearerTokenManifest,
  dataTrailsIssuer,
  integrationManifest,
  workloadManifest,
  type IntegrationSpecInput,
  type WorkloadManifest,
} from "../support/manifests.ts";

const ns = "it-reload";
let env: TestEnv;
let apps: AppsV1Api;
let eventsApi: EventsV1Api;

beforeAll(async () => {
  // A debounce long enough that two rotations requested together always land in one window.
  env = await startTestEnv([ns], ["--resync-interval-ms=2000", "--reload-debounce-ms=5000"]);
  apps = env.kubeConfig.makeApiClient(AppsV1Api);
  eventsApi = env.kubeConfig.makeApiClient(EventsV1Api);
});
afterAll(async () => {
  await env?.stop();
});

type Kind = WorkloadManifest["kind"];
type Reload = NonNullable<IntegrationSpecInput["reload"]>;

async function template(kind: Kind, name: string) {
  const args = { name, namespace: ns };
  const w =
    kind === "Deployment"
      ? await apps.readNamespacedDeployment(args)
      : kind === "StatefulSet"
        ? await apps.readNamespacedStatefulSet(args)
        : await apps.readNamespacedDaemonSet(args);
  return {
    generation: w.metadata?.generation ?? 0,
    annotations: w.spec?.template.metadata?.annotations ?? {},
  };
}

interface ReloadView {
  status: {
    reload?: { version: string; rolledAt?: string };
    conditions?: { type: string; status: string; reason: string; message: string }[];
    secretRotatedAt?: string;
  };
}

async function object(kind: string, name: string): Promise<ReloadView> {
  return JSON.parse(await kubectlOk(["get", kind, name, "-n", ns, "-o", "json"])) as ReloadView;
}

const reloadCondition = (o: ReloadView) => o.status.conditions?.find((c) => c.type === "ReloadReady");
const ready = (o: ReloadView) => o.status.conditions?.find((c) => c.type === "Ready")?.status;

/** Waits until the object recorded a reload version and states ReloadReady True; returns it. */
async function settled(kind: string, name: string, rolledAfter?: string): Promise<ReloadView> {
  let last: ReloadView | undefined;
  await expect
    .poll(
      async () => {
        last = await object(kind, name);
        const c = reloadCondition(last);
        const rolled = rolledAfter === undefined || (last.status.reload?.rolledAt ?? "") > rolledAfter;
        return last.status.reload?.version !== undefined && c?.status === "True" && rolled;
      },
      { timeout: 60_000, interval: 250 },
    )
    .toBe(true);
  return last as ReloadView;
}

async function eventsFor(kind: string, name: string, reason: string): Promise<string[]> {
  const list = await eventsApi.listNamespacedEvent({ namespace: ns });
  return list.items
    .filter((e) => e.regarding?.kind === kind && e.regarding.name === name && e.reason === reason)
    .map((e) => e.note ?? "");
}

const integration = (name: string, reload: Reload, spec: Partial<IntegrationSpecInput> = {}) =>
  integrationManifest(ns, name, { token: { enabled: false }, reload, ...spec });

const rotate = (...names: string[]) =>
  kubectlOk([
    "annotate",
    "--overwrite",
    "-n",
    ns,
    ...names.map((n) => `datatrailsintegration/${n}`),
    `datatrails.ai/rotate=${Date.now()}`,
  ]);

describe("spec.reload", () => {
  it("rolls a Deployment by name and a StatefulSet by selector once when the client secret is rotated", async () => {
    await kubectlOk(
      ["apply", "-f", "-"],
      [
        workloadManifest(ns, "Deployment", "web", { "example.com/keep": "me" }),
        workloadManifest(ns, "StatefulSet", "db", {}, { labels: { tier: "db" } }),
      ],
    );
    await kubectlOk(
      ["apply", "-f", "-"],
      integration("rotating", {
        targets: [
          { kind: "Deployment", name: "web" },
          { kind: "StatefulSet", selector: { matchLabels: { tier: "db" } } },
        ],
      }),
    );
    const first = await settled("datatrailsintegration", "rotating");
    // Turning reload on restarts nothing.
    const web0 = await template("Deployment", "web");
    const db0 = await template("StatefulSet", "db");
    expect(web0.annotations).toEqual({ "example.com/keep": "me" });
    expect(db0.annotations).toEqual({});

    await rotate("rotating");
    const after = await settled("datatrailsintegration", "rotating", first.status.reload?.rolledAt ?? "");
    expect(after.status.reload?.version).not.toBe(first.status.reload?.version);
    const version = after.status.reload?.version ?? "";
    const web1 = await template("Deployment", "web");
    const db1 = await template("StatefulSet", "db");
    expect(web1.generation).toBe(web0.generation + 1);
    expect(db1.generation).toBe(db0.generation + 1);
    expect(web1.annotations).toEqual({
      "example.com/keep": "me",
      "integration.reload.datatrails.ai/rotating": version,
      "datatrails.ai/restartedAt": expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as string,
    });
    expect(db1.annotations["integration.reload.datatrails.ai/rotating"]).toBe(version);
    // The patch wrote the two annotations and nothing else, under a field manager of its own.
    const managed = (await apps.readNamespacedDeployment({ name: "web", namespace: ns })).metadata
      ?.managedFields;
    const ours = managed?.filter((m) => m.manager === "datatrails-operator-reload") ?? [];
    expect(ours).toHaveLength(1);
    expect(ours[0]?.fieldsV1).toEqual({
      "f:spec": {
        "f:template": {
          "f:metadata": {
            "f:annotations": {
              "f:datatrails.ai/restartedAt": {},
              "f:integration.reload.datatrails.ai/rotating": {},
            },
          },
        },
      },
    });
    expect(ready(after)).toBe("True");

    // Drift checks of the settled integration (every 2 s here) roll nothing more.
    const gets = env.emulator.control.count("applications.get");
    await expect
      .poll(() => env.emulator.control.count("applications.get"), { timeout: 30_000 })
      .toBeGreaterThan(gets + 2);
    expect((await template("Deployment", "web")).generation).toBe(web1.generation);

    await expect
      .poll(() => eventsFor("DataTrailsIntegration", "rotating", "WorkloadRolled"), { timeout: 20_000 })
      .toEqual(
        expect.arrayContaining([
          "Rolled Deployment web for rotated credentials.",
          "Rolled StatefulSet db for rotated credentials.",
        ]),
      );
    await expect
      .poll(() => eventsFor("Deployment", "web", "RolledForCredentials"), { timeout: 20_000 })
      .toEqual(["Rolled for rotated credentials of DataTrailsIntegration rotating."]);
    // What the reload wrote (the workloads, the status, the Events) holds no secret.
    const credentials = await env.core.readNamespacedSecret({ name: "rotating-credentials", namespace: ns });
    const secret = Buffer.from(credentials.data?.["client_secret"] ?? "", "base64").toString();
    expect(secret.length).toBeGreaterThan(8);
    const written = JSON.stringify([
      await apps.readNamespacedDeployment({ name: "web", namespace: ns }),
      await apps.readNamespacedStatefulSet({ name: "db", namespace: ns }),
      await object("datatrailsintegration", "rotating"),
      await eventsApi.listNamespacedEvent({ namespace: ns }),
    ]);
    expect(written).not.toContain(secret);
  });

  it("rolls a Deployment two integrations name once when both rotate together", async () => {
    await kubectlOk(["apply", "-f", "-"], workloadManifest(ns, "Deployment", "shared"));
    const reload: Reload = { targets: [{ kind: "Deployment", name: "shared" }] };
    await kubectlOk(["apply", "-f", "-"], [integration("left", reload), integration("right", reload)]);
    const left0 = await settled("datatrailsintegration", "left");
    const right0 = await settled("datatrailsintegration", "right");
    const shared0 = await template("Deployment", "shared");

    await rotate("left", "right");
    const left1 = await settled("datatrailsintegration", "left", left0.status.reload?.rolledAt ?? "");
    const right1 = await settled("datatrailsintegration", "right", right0.status.reload?.rolledAt ?? "");
    const shared1 = await template("Deployment", "shared");
    expect(shared1.annotations).toMatchObject({
      "integration.reload.datatrails.ai/left": left1.status.reload?.version,
      "integration.reload.datatrails.ai/right": right1.status.reload?.version,
    });
    expect(shared1.generation).toBe(shared0.generation + 1);
    await expect
      .poll(() => eventsFor("Deployment", "shared", "RolledForCredentials"), { timeout: 20_000 })
      .toEqual([
        expect.stringMatching(
          /^Rolled for rotated credentials of DataTrailsIntegration (left, DataTrailsIntegration right|right, DataTrailsIntegration left)\.$/,
        ),
      ]);
  });

  it("rolls nothing on a routine token refresh", async () => {
    env.emulator.control.setTokenTtlSeconds(6);
    try {
      await kubectlOk(["apply", "-f", "-"], workloadManifest(ns, "Deployment", "reader"));
      await kubectlOk(
        ["apply", "-f", "-"],
        integration(
          "refreshing",
          { targets: [{ kind: "Deployment", name: "reader" }] },
          { token: { enabled: true } },
        ),
      );
      await kubectlOk(
        ["apply", "-f", "-"],
        bearerTokenManifest(ns, "reader-token", {
          dataTrails: dataTrailsIssuer("refreshing-credentials"),
          reload: { targets: [{ kind: "Deployment", name: "reader" }] },
        }),
      );
      await settled("datatrailsintegration", "refreshing");
      await settled("bearertoken", "reader-token");
      const before = await template("Deployment", "reader");
      const issuedAt = async () =>
        (
          await env.core
            .readNamespacedSecret({ name: "refreshing-token", namespace: ns })
            .catch(() => undefined)
        )?.metadata?.annotations?.["datatrails.ai/issued-at"];
      const seen = new Set<string>();
      await expect
        .poll(
          async () => {
            const at = await issuedAt();
            if (at) seen.add(at);
            return seen.size;
          },
          { timeout: 60_000, interval: 250 },
        )
        .toBeGreaterThanOrEqual(3);
      const after = await template("Deployment", "reader");
      expect(after.generation).toBe(before.generation);
      expect(after.annotations).toEqual({});
      expect(reloadCondition(await object("datatrailsintegration", "refreshing"))?.status).toBe("True");
      expect(reloadCondition(await object("bearertoken", "reader-token"))?.status).toBe("True");
    } finally {
      env.emulator.control.setTokenTtlSeconds(3600);
    }
  });

  it("rolls a BearerToken's DaemonSet when its token comes from new credentials", async () => {
    await kubectlOk(["apply", "-f", "-"], workloadManifest(ns, "DaemonSet", "agent"));
    await kubectlOk(["apply", "-f", "-"], integrationManifest(ns, "source", { token: { enabled: false } }));
    await waitForCondition(ns, "datatrailsintegration/source", "CredentialsReady");
    await kubectlOk(
      ["apply", "-f", "-"],
      bearerTokenManifest(ns, "agent-token", {
        dataTrails: dataTrailsIssuer("source-credentials"),
        reload: { targets: [{ kind: "DaemonSet", name: "agent" }] },
      }),
    );
    const first = await settled("bearertoken", "agent-token");
    const agent0 = await template("DaemonSet", "agent");
    expect(agent0.annotations).toEqual({});

    await rotate("source");
    const after = await settled("bearertoken", "agent-token", first.status.reload?.rolledAt ?? "");
    const agent1 = await template("DaemonSet", "agent");
    expect(agent1.generation).toBe(agent0.generation + 1);
    expect(agent1.annotations["bearertoken.reload.datatrails.ai/agent-token"]).toBe(
      after.status.reload?.version,
    );
    await expect
      .poll(() => eventsFor("BearerToken", "agent-token", "WorkloadRolled"), { timeout: 20_000 })
      .toEqual(["Rolled DaemonSet agent for rotated credentials."]);
  });

  it("says which target is missing, keeps Ready, and rolls it once it exists and a rotation comes", async () => {
    await kubectlOk(
      ["apply", "-f", "-"],
      integration("lonely", { targets: [{ kind: "Deployment", name: "not-yet" }] }),
    );
    let view: ReloadView | undefined;
    await expect
      .poll(
        async () => {
          view = await object("datatrailsintegration", "lonely");
          return reloadCondition(view)?.reason;
        },
        { timeout: 60_000 },
      )
      .toBe("ReloadTargetNotFound");
    expect(reloadCondition(view as ReloadView)?.message).toBe(
      "Not found in this namespace: Deployment not-yet.",
    );
    await expect
      .poll(async () => ready(await object("datatrailsintegration", "lonely")), { timeout: 60_000 })
      .toBe("True");
    await expect
      .poll(() => eventsFor("DataTrailsIntegration", "lonely", "ReloadTargetNotFound"), { timeout: 20_000 })
      .toEqual(["Not found in this namespace: Deployment not-yet."]);

    await kubectlOk(["apply", "-f", "-"], workloadManifest(ns, "Deployment", "not-yet"));
    // The missing target was looked for again (every minute) or the rotation wakes it: either way it rolls.
    const before = (await object("datatrailsintegration", "lonely")).status.reload?.rolledAt ?? "";
    await rotate("lonely");
    const after = await settled("datatrailsintegration", "lonely", before);
    expect(
      (await template("Deployment", "not-yet")).annotations["integration.reload.datatrails.ai/lonely"],
    ).toBe(after.status.reload?.version);
  });

  it("rolls the Deployment of examples/reload.yaml, applied as it stands, when its secret rotates", async () => {
    await kubectlOk([
      "apply",
      "-n",
      ns,
      "-f",
      join(import.meta.dirname, "..", "..", "examples", "reload.yaml"),
    ]);
    const first = await settled("datatrailsintegration", "traffic-light-102");
    const before = await template("Deployment", "traffic-light-102");
    await rotate("traffic-light-102");
    const after = await settled(
      "datatrailsintegration",
      "traffic-light-102",
      first.status.reload?.rolledAt ?? "",
    );
    const rolled = await template("Deployment", "traffic-light-102");
    expect(rolled.generation).toBe(before.generation + 1);
    expect(rolled.annotations["integration.reload.datatrails.ai/traffic-light-102"]).toBe(
      after.status.reload?.version,
    );
  });

  it("refuses a target with both a name and a selector, and an empty selector, at admission", async () => {
    const both = await kubectl(
      ["apply", "-f", "-"],
      integration("bad-target", {
        targets: [{ kind: "Deployment", name: "web", selector: { matchLabels: { app: "web" } } }],
      }),
    );
    expect(both.status).not.toBe(0);
    expect(both.stderr).toContain("a reload target needs exactly one of name and selector");
    const empty = await kubectl(
      ["apply", "-f", "-"],
      integration("bad-selector", { targets: [{ kind: "Deployment", selector: {} }] }),
    );
    expect(empty.status).not.toBe(0);
    expect(empty.stderr).toContain("an empty selector would roll every workload of the kind");
  });
});
