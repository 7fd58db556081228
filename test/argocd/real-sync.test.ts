/**
 * A real Argo CD (hack/argocd: the application controller, repo server and API server of Argo CD
 * v2.14, built from its Go module) syncing our objects from a Git repository on loopback into a
 * control plane of this file's own, with the health check and actions of docs/argocd.md installed
 * from the doc's bytes, and the operator running in-process against an emulator with 20-second
 * tokens.
 *
 * One Application holds the CRDs (wave -2), the connection (wave -1) and three of the
 * examples' integrations (wave 0), synced with the CRDs absent; the tests then check what docs/argocd.md
 * promises: Progressing while created, Healthy once Ready, Degraded with the condition's message
 * while the admin Secret is wrong, no drift and no sync through token refreshes, Git changes
 * reaching DataTrails, prune deleting (or, with deletionPolicy Orphan, keeping) the DataTrails
 * application, and the refresh, rotate, suspend and resume actions run through argocd-server's REST
 * API. Each test starts from the settled application beforeAll leaves and leaves it settled.
 *
 * Without go or redis-server the tests are skipped and say so: "SKIPPED: <what> because <why>".
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { refreshAnnotation, rotateAnnotation } from "../../src/api/v1alpha1/constants.ts";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { startControlPlane, type ControlPlane } from "../../src/envtest/control-plane.ts";
import { warnSkipped } from "../image/podman.ts";
import { clientSecretManifest, integrationManifest, type ConnectionManifest } from "../support/manifests.ts";
import { startInProcessOperator, throwOnLeaks, type InProcessOperator } from "../support/env.ts";
import { kubectl, kubectlOk } from "../support/kubectl.ts";
import {
  argocdBinary,
  argocdNamespace,
  argocdUnavailable,
  documentedConfigMap,
  startArgoCd,
  type RunningArgoCd,
} from "./real-argocd.ts";

const unavailable = argocdUnavailable();
if (unavailable !== undefined)
  warnSkipped("the real Argo CD tests (test/argocd/real-sync.test.ts)", unavailable);

const repoRoot = join(import.meta.dirname, "..", "..");
const namespace = "datatrails-apps";
const appName = "datatrails";
const integrationName = "traffic-light-101";
const tokenTtlSeconds = 20;
/** The examples in Git, and the integrations they hold (sorted, as kubectl lists them). */
const exampleFiles = [`${integrationName}.yaml`, "secret-template.yaml", "traffic-light-reader.yaml"];
const exampleIntegrations = [integrationName, "traffic-light-103", "traffic-light-reader"];

/** The parts of an Argo CD Application the tests read. */
interface Application {
  metadata: { annotations?: Record<string, string> };
  status?: {
    sync?: { status?: string; revision?: string };
    health?: { status?: string };
    reconciledAt?: string;
    history?: { id: number; revision: string }[];
    operationState?: { phase?: string; startedAt?: string; message?: string };
    resources?: {
      kind: string;
      name: string;
      status?: string;
      health?: { status?: string; message?: string };
    }[];
  };
}

interface Integration {
  metadata: { uid: string; annotations?: Record<string, string> };
  status?: { applicationIdentity?: string; lastRotateRequest?: string };
}

interface BearerToken {
  metadata: { name: string; ownerReferences?: { uid: string }[] };
  status?: { tokenExpiresAt?: string; lastRefreshRequest?: string };
}

let plane: ControlPlane | undefined;
let emulator: RunningEmulator | undefined;
let argocd: RunningArgoCd | undefined;
let operator: InProcessOperator | undefined;
/** What the first sync looked like before the operator ran (recorded in beforeAll). */
const firstSync = {
  crdsAbsent: false,
  waitingForConnection: undefined as Application | undefined,
  creatingIntegration: undefined as Application | undefined,
};
const health = (status: Application["status"], kind: string) =>
  status?.resources?.find((r) => r.kind === kind)?.health?.status ?? "Missing";
const healthMessage = (status: Application["status"], kind: string) =>
  status?.resources?.find((r) => r.kind === kind)?.health?.message;

const path = () => plane?.kubeconfigPath ?? "";
const kube = (args: string[], input?: string | object | object[]) => kubectlOk(args, input, path());
const getJson = async <T>(args: string[]): Promise<T> => JSON.parse(await kube([...args, "-o", "json"])) as T;
const application = () => getJson<Application>(["get", "application", appName, "-n", argocdNamespace]);
const integration = (name: string) =>
  getJson<Integration>(["get", "datatrailsintegration", name, "-n", namespace]);
const childToken = async (name: string): Promise<BearerToken> => {
  const owner = await integration(name);
  const list = await getJson<{ items: BearerToken[] }>(["get", "bearertokens", "-n", namespace]);
  const child = list.items.find((t) => t.metadata.ownerReferences?.some((o) => o.uid === owner.metadata.uid));
  if (child === undefined) throw new Error(`no BearerToken owned by ${name}`);
  return child;
};
const emulatorApplication = (identity: string | undefined) =>
  emulator?.control.applications().find((a) => a.identity === identity);

/** Tells Argo CD to look at Git now, as a webhook would (instead of waiting for its poll). */
const refreshFromGit = () =>
  kube([
    "annotate",
    "application",
    appName,
    "-n",
    argocdNamespace,
    "--overwrite",
    "argocd.argoproj.io/refresh=normal",
  ]);

/** Polls `read` until it returns `want` (deep equality); fails with the last value after `timeout` ms. */
async function until<T>(what: string, read: () => T | Promise<T>, want: T, timeout = 120_000): Promise<void> {
  const deadline = Date.now() + timeout;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (isDeepStrictEqual(last, want)) return;
    if (Date.now() > deadline) {
      const resources = (await application().catch(() => undefined))?.status?.resources;
      throw new Error(
        `${what}: still ${JSON.stringify(last)}, want ${JSON.stringify(want)} after ${timeout} ms; ` +
          `resources: ${JSON.stringify(resources?.map((r) => [r.kind, r.name, r.status, r.health]))}`,
      );
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/** Waits until the application is Synced and Healthy at `revision`, its last operation done. */
async function settledAt(revision: string, timeout = 120_000): Promise<Application> {
  let last: Application | undefined;
  await until(
    `application ${appName} settled at ${revision}`,
    async () => {
      last = await application();
      const s = last.status;
      return [s?.sync?.status, s?.sync?.revision, s?.health?.status, s?.operationState?.phase];
    },
    ["Synced", revision, "Healthy", "Succeeded"],
    timeout,
  );
  return last as Application;
}

const gitFile = (file: string) => join(argocd?.git.workTree ?? "", file);
const writeGit = (file: string, objects: object | object[]) =>
  writeFileSync(
    gitFile(file),
    (Array.isArray(objects) ? objects : [objects]).map((o) => stringify(o)).join("---\n"),
  );

/** A file of examples/, as the repository holds it. */
const example = (file: string) => readFileSync(join(repoRoot, "examples", file), "utf8");

/** argocd-server's resource-actions endpoint for one of the integrations (auth disabled on loopback). */
function actionsUrl(name: string): string {
  const query = new URLSearchParams({
    namespace,
    resourceName: name,
    group: "datatrails.ai",
    version: "v1alpha1",
    kind: "DataTrailsIntegration",
  });
  return `${argocd?.serverUrl}/api/v1/applications/${appName}/resource/actions?${query.toString()}`;
}

/** The actions Argo CD offers on an integration: [name, disabled], sorted. */
async function listActions(name: string): Promise<[string, boolean][]> {
  const listed = (await (await fetch(actionsUrl(name))).json()) as {
    actions?: { name: string; disabled?: boolean }[];
  };
  return (listed.actions ?? []).map((a): [string, boolean] => [a.name, a.disabled ?? false]).sort();
}

/** Runs an action through argocd-server, as the UI's Actions menu and `argocd app actions run` do. */
async function runActionOn(name: string, action: string): Promise<void> {
  const response = await fetch(actionsUrl(name), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(action),
  });
  expect(response.status, await response.clone().text()).toBe(200);
}

/** The revision the tests left the repository at (each test commits on top). */
let head = "";

describe.skipIf(unavailable !== undefined)("a real Argo CD v2.14 syncing our objects from Git", () => {
  beforeAll(async () => {
    const binary = argocdBinary();
    plane = await startControlPlane();
    emulator = await startEmulator({ tokenTtlSeconds });
    argocd = await startArgoCd({ binary, kubeconfigPath: path(), kubectl: kube });

    // The repository: the CRDs as crds/ holds them (wave -2), the connection (wave -1, pointed at
    // the emulator) and the examples of integrations that turn Healthy (wave 0) as examples/ holds
    // them: traffic-light-101, secret-template (Secret templates), traffic-light-reader (access
    // policies). examples/control.yaml is left out: it is suspended, which Argo CD shows as Suspended.
    mkdirSync(gitFile("crds"));
    for (const file of readdirSync(join(repoRoot, "crds"))) {
      const crd = parse(readFileSync(join(repoRoot, "crds", file), "utf8")) as {
        metadata: { annotations?: Record<string, string> };
      };
      crd.metadata.annotations = { ...crd.metadata.annotations, "argocd.argoproj.io/sync-wave": "-2" };
      writeGit(join("crds", file), crd);
    }
    const connection = parse(example("connection.yaml")) as ConnectionManifest;
    connection.spec.url = emulator.url;
    connection.metadata.annotations = { "argocd.argoproj.io/sync-wave": "-1" };
    writeGit("connection.yaml", connection);
    for (const file of exampleFiles) copyFileSync(join(repoRoot, "examples", file), gitFile(file));
    head = await argocd.git.commit("CRDs, a connection and an integration");

    // The admin Secret comes from outside Git (Sealed Secrets, External Secrets…).
    await kube(["create", "namespace", namespace]);
    await kube(["apply", "-f", "-"], clientSecretManifest(namespace, emulator.admin));
    firstSync.crdsAbsent =
      (await kubectl(["get", "crd", "datatrailsintegrations.datatrails.ai"], undefined, path())).status !== 0;

    await kube(["apply", "-f", "-"], {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Application",
      metadata: { name: appName, namespace: argocdNamespace },
      spec: {
        project: "default",
        source: { repoURL: argocd.git.url, targetRevision: "main", path: ".", directory: { recurse: true } },
        destination: { server: "https://kubernetes.default.svc", namespace },
        // Background propagation: the test control plane runs no garbage collector, which Argo CD's
        // default (foreground) waits for before an object with children (the BearerToken and
        // Secrets an integration owns) is gone.
        syncPolicy: {
          automated: { prune: true, selfHeal: true },
          syncOptions: ["PrunePropagationPolicy=background"],
        },
      },
    });

    // Without the operator the connection cannot turn Healthy: the sync waits in wave -1, the
    // integration (wave 0) not applied yet.
    await until(
      "the first sync waiting in wave -1",
      async () => {
        firstSync.waitingForConnection = await application();
        const s = firstSync.waitingForConnection.status;
        return [
          s?.operationState?.phase,
          s?.health?.status,
          health(s, "DataTrailsConnection"),
          health(s, "DataTrailsIntegration"),
        ];
      },
      ["Running", "Missing", "Progressing", "Missing"],
    );

    // With the operator, the connection turns Healthy and wave 0 is applied; the application's
    // creation in DataTrails is held back for 8 s (well within the tokens' 20 s), long enough to see
    // the integration Progressing. Argo CD does not wait for the last wave's health: the operation
    // has succeeded by then.
    emulator.control.setLatency(8_000, "applications.create");
    operator = await startInProcessOperator(plane.kubeConfig, [namespace], [emulator.admin.clientSecret]);
    await until(
      "the first sync waiting in wave 0",
      async () => {
        firstSync.creatingIntegration = await application();
        const s = firstSync.creatingIntegration.status;
        return [
          s?.operationState?.phase,
          s?.health?.status,
          health(s, "DataTrailsConnection"),
          health(s, "DataTrailsIntegration"),
        ];
      },
      ["Succeeded", "Progressing", "Healthy", "Progressing"],
      60_000,
    );
    emulator.control.setLatency(0, "applications.create");
    await settledAt(head, 180_000);
  }, 3_600_000);

  afterAll(async () => {
    // The same secrets-hygiene check as every other file that runs the operator.
    const leaks = operator ? (await operator.stopAndCheck()).leaks : [];
    await argocd?.stop();
    await emulator?.close();
    await plane?.stop();
    throwOnLeaks(leaks);
  }, 120_000);

  it("syncs the CRDs and the objects in one Application, in waves, Progressing until the operator made them Ready", async () => {
    expect(firstSync.crdsAbsent).toBe(true);
    // Argo CD ran with the health check and actions exactly as docs/argocd.md writes them.
    const live = await getJson<{ data: Record<string, string> }>([
      "get",
      "configmap",
      "argocd-cm",
      "-n",
      argocdNamespace,
    ]);
    const documented = (parse(documentedConfigMap()) as { data: Record<string, string> }).data;
    expect(Object.keys(documented).length).toBe(6);
    for (const [key, value] of Object.entries(documented)) expect(live.data[key], key).toBe(value);
    // Before the operator ran: the connection Progressing with the check's message, the
    // integration (wave 0) not applied yet.
    expect(healthMessage(firstSync.waitingForConnection?.status, "DataTrailsConnection")).toBe(
      "Waiting for the operator to report status",
    );
    // While its DataTrails application was being created: the integration Progressing.
    expect(healthMessage(firstSync.creatingIntegration?.status, "DataTrailsIntegration")).toMatch(
      /^Waiting|\S/,
    );
    const app = await application();
    expect(app.status?.resources?.map((r) => [r.kind, r.status, r.health?.status]).sort()).toEqual([
      ["CustomResourceDefinition", "Synced", undefined],
      ["CustomResourceDefinition", "Synced", undefined],
      ["CustomResourceDefinition", "Synced", undefined],
      ["CustomResourceDefinition", "Synced", undefined],
      ["DataTrailsConnection", "Synced", "Healthy"],
      ["DataTrailsIntegration", "Synced", "Healthy"],
      ["DataTrailsIntegration", "Synced", "Healthy"],
      ["DataTrailsIntegration", "Synced", "Healthy"],
    ]);
    const identity = (await integration(integrationName)).status?.applicationIdentity;
    expect(emulatorApplication(identity)).toMatchObject({
      displayName: "TrafficLight101",
      customClaims: { serial_number: "TL1000000101", has_cyclist_light: "true" },
    });
    for (const name of exampleIntegrations)
      expect(emulatorApplication((await integration(name)).status?.applicationIdentity), name).toBeDefined();
  });

  it("shows Degraded with the connection's condition message while the admin Secret is wrong, and Healthy once fixed", async () => {
    if (emulator === undefined) throw new Error("no emulator");
    const wrong = clientSecretManifest(namespace, { ...emulator.admin, clientSecret: "not-the-secret" });
    await kube(["apply", "-f", "-"], wrong);
    await until(
      "Degraded",
      async () => {
        const s = (await application()).status;
        return [s?.health?.status, health(s, "DataTrailsConnection")];
      },
      ["Degraded", "Degraded"],
    );
    // The message Argo CD shows is the connection's own Ready condition's.
    const connection = await getJson<{
      status?: { conditions?: { type: string; reason?: string; message?: string }[] };
    }>(["get", "datatrailsconnection", "datatrails", "-n", namespace]);
    const ready = connection.status?.conditions?.find((c) => c.type === "Ready");
    expect(ready?.reason).toBe("CredentialsRejected");
    await until(
      "the connection's message in Argo CD",
      async () => healthMessage((await application()).status, "DataTrailsConnection"),
      ready?.message,
    );
    expect(ready?.message).not.toContain("not-the-secret");
    await kube(["apply", "-f", "-"], clientSecretManifest(namespace, emulator.admin));
    await until(
      "Healthy again",
      async () => {
        const s = (await application()).status;
        return [s?.sync?.status, s?.health?.status, health(s, "DataTrailsConnection")];
      },
      ["Synced", "Healthy", "Healthy"],
    );
  }, 300_000);

  it("stays Synced through three token refreshes, with no sync and no drift", async () => {
    const before = await settledAt(head);
    const historyBefore = before.status?.history?.length;
    const operationBefore = before.status?.operationState?.startedAt;
    const reconciledBefore = Date.parse(before.status?.reconciledAt ?? "");
    const expiries = new Set<string>();
    const first = (await childToken(integrationName)).status?.tokenExpiresAt;
    const states = new Set<string>();
    // Three new tokens (each a new expiry), the application read at every step.
    while (expiries.size < 3) {
      const token = await childToken(integrationName);
      const expiry = token.status?.tokenExpiresAt;
      if (expiry !== undefined && expiry !== first) expiries.add(expiry);
      const s = (await application()).status;
      states.add(`${s?.sync?.status}/${s?.health?.status}`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    expect([...states]).toEqual(["Synced/Healthy"]);
    const after = await application();
    // Argo CD compared again meanwhile (resource updates and its 10 s resync), and found nothing to sync.
    expect(Date.parse(after.status?.reconciledAt ?? "")).toBeGreaterThan(reconciledBefore);
    expect(after.status?.history?.length).toBe(historyBefore);
    expect(after.status?.operationState?.startedAt).toBe(operationBefore);
    expect(after.status?.resources?.every((r) => r.status === "Synced")).toBe(true);
  }, 180_000);

  it("runs the refresh and rotate actions through argocd-server's API, and they take effect", async () => {
    if (argocd === undefined) throw new Error("no Argo CD");
    const before = await settledAt(head);
    expect(await listActions(integrationName)).toEqual([
      ["refresh", false],
      ["resume", true],
      ["rotate", false],
      ["suspend", false],
    ]);
    const runAction = (action: string) => runActionOn(integrationName, action);

    // refresh: the integration's annotation, passed on to its BearerToken, which requests a token.
    await runAction("refresh");
    const requested = (await integration(integrationName)).metadata.annotations?.[refreshAnnotation];
    expect(requested).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await until(
      "the refresh answered",
      async () => (await childToken(integrationName)).status?.lastRefreshRequest,
      requested,
    );

    // rotate: a new client secret in DataTrails, recorded in status.
    const identity = (await integration(integrationName)).status?.applicationIdentity;
    const secretBefore = emulatorApplication(identity)?.secretSha256;
    await runAction("rotate");
    const rotate = (await integration(integrationName)).metadata.annotations?.[rotateAnnotation];
    expect(rotate).toBeDefined();
    await until(
      "the rotation done",
      async () => (await integration(integrationName)).status?.lastRotateRequest,
      rotate,
    );
    expect(emulatorApplication(identity)?.secretSha256).not.toBe(secretBefore);

    // The annotations are not in Git: no drift, no sync.
    const after = await settledAt(head);
    expect(after.status?.history?.length).toBe(before.status?.history?.length);
    expect(after.status?.operationState?.startedAt).toBe(before.status?.operationState?.startedAt);
  }, 180_000);

  it("suspends and resumes through argocd-server's API: Suspended, and still Synced (spec.suspend is not in Git)", async () => {
    const before = await settledAt(head);
    await runActionOn("traffic-light-reader", "suspend");
    await until(
      "Suspended",
      async () => {
        const s = (await application()).status;
        const reader = s?.resources?.find((r) => r.name === "traffic-light-reader");
        return [s?.sync?.status, s?.health?.status, reader?.status, reader?.health?.status];
      },
      ["Synced", "Suspended", "Synced", "Suspended"],
    );
    expect(await listActions("traffic-light-reader")).toEqual([
      ["refresh", true],
      ["resume", false],
      ["rotate", true],
      ["suspend", true],
    ]);
    await runActionOn("traffic-light-reader", "resume");
    const after = await settledAt(head);
    // selfHeal did not put anything back: no sync happened.
    expect(after.status?.history?.length).toBe(before.status?.history?.length);
    expect(after.status?.operationState?.startedAt).toBe(before.status?.operationState?.startedAt);
  }, 180_000);

  it("syncs a change in Git (display name, custom claim) to DataTrails", async () => {
    if (argocd === undefined) throw new Error("no Argo CD");
    const before = await settledAt(head);
    const manifest = parse(readFileSync(gitFile(`${integrationName}.yaml`), "utf8")) as {
      spec: { displayName: string; customClaims: Record<string, string> };
    };
    manifest.spec.displayName = `${manifest.spec.displayName} West`;
    manifest.spec.customClaims = {
      ...manifest.spec.customClaims,
      serial_number: `${manifest.spec.customClaims["serial_number"]}-W`,
    };
    writeGit(`${integrationName}.yaml`, manifest);
    head = await argocd.git.commit("Rename the traffic light and change its serial number");
    await refreshFromGit();
    const after = await settledAt(head);
    expect(after.status?.history?.length).toBe((before.status?.history?.length ?? 0) + 1);
    const identity = (await integration(integrationName)).status?.applicationIdentity;
    await until(
      "the change in DataTrails",
      () => {
        const app = emulatorApplication(identity);
        return [app?.displayName, app?.customClaims["serial_number"]];
      },
      [manifest.spec.displayName, manifest.spec.customClaims["serial_number"]],
    );
  }, 180_000);

  it("prunes an integration removed from Git, deleting its DataTrails application, and keeps an Orphan one's", async () => {
    if (argocd === undefined) throw new Error("no Argo CD");
    writeGit("pruned.yaml", integrationManifest(namespace, "pruned-light", { displayName: "PrunedLight" }));
    writeGit(
      "orphaned.yaml",
      integrationManifest(namespace, "orphaned-light", {
        displayName: "OrphanedLight",
        deletionPolicy: "Orphan",
      }),
    );
    head = await argocd.git.commit("Two more traffic lights");
    await refreshFromGit();
    await settledAt(head);
    const pruned = (await integration("pruned-light")).status?.applicationIdentity;
    const orphaned = (await integration("orphaned-light")).status?.applicationIdentity;
    expect(emulatorApplication(pruned)?.displayName).toBe("PrunedLight");
    expect(emulatorApplication(orphaned)?.displayName).toBe("OrphanedLight");

    rmSync(gitFile("pruned.yaml"));
    rmSync(gitFile("orphaned.yaml"));
    head = await argocd.git.commit("Remove the two traffic lights");
    await refreshFromGit();
    await settledAt(head);
    await until(
      "both integrations gone",
      async () =>
        (
          await getJson<{ items: { metadata: { name: string } }[] }>([
            "get",
            "datatrailsintegrations",
            "-n",
            namespace,
          ])
        ).items.map((i) => i.metadata.name),
      exampleIntegrations,
    );
    expect(emulatorApplication(pruned)).toBeUndefined();
    expect(emulatorApplication(orphaned)?.displayName).toBe("OrphanedLight");
  }, 300_000);
});
