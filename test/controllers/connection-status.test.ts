/**
 * Connections have status: the real kube-apiserver, the emulator over real HTTP and the operator
 * in-process. Ready=True when the admin credentials work at the token endpoint and carry OWNER; a
 * reason of its own for each way they can fail; back to Ready once fixed; the same for a
 * ClusterDataTrailsConnection; and a restart that asks DataTrails nothing for Ready connections.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runHealthCheck } from "../argocd/lua.ts";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { findLeaks } from "../support/hygiene.ts";
import { kubectlOk } from "../support/kubectl.ts";
import { createApplication, restartOperator, waitForQuietController } from "../tokens/support.ts";
import { clientSecretManifest, clusterConnectionManifest, connectionManifest } from "../support/manifests.ts";

const suffix = randomBytes(3).toString("hex");
const ns = `connection-status-${suffix}`;
const other = `connection-status-other-${suffix}`;

interface Live {
  metadata: { generation: number };
  status?: {
    observedGeneration?: number;
    credentialsSecretVersion?: string;
    conditions?: {
      type: string;
      status: string;
      reason: string;
      message: string;
      observedGeneration?: number;
    }[];
  };
}

let env: TestEnv;
const clusterNames: string[] = [];

beforeAll(async () => {
  // A short resync, so a connection that was Ready notices a broken Secret within seconds.
  env = await startTestEnv([ns, other], ["--resync-interval-ms=3000"]);
});
afterAll(async () => {
  for (const name of clusterNames)
    await kubectlOk(["delete", "clusterdatatrailsconnection", name, "--ignore-not-found", "--wait=false"]);
  if (env) {
    // Events about cluster connections are in `default`; the env's own check covers its namespaces.
    const leaks = await findLeaks(env.kubeConfig, ["default"], env.logs);
    await env.stop();
    expect(leaks).toEqual([]);
  }
});

const secret = (namespace: string, name: string, clientId: string, clientSecret: string) =>
  clientSecretManifest(namespace, { clientId, clientSecret }, name);

const connection = (name: string, secretName: string, url = env.emulator.url) =>
  connectionManifest(ns, url, { credentialsSecretRef: { name: secretName } }, name);

function clusterConnection(secretName: string) {
  const name = `connection-status-${suffix}-${clusterNames.length}`;
  clusterNames.push(name);
  return clusterConnectionManifest(name, {
    url: env.emulator.url,
    credentialsSecretRef: { namespace: other, name: secretName },
    allowedNamespaces: { names: [ns] },
  });
}

/** A secret that is not the admin's (64 hex, one digit changed). */
function wrongSecret(): string {
  const s = env.emulator.admin.clientSecret;
  return `${s.slice(0, -1)}${s.endsWith("0") ? "1" : "0"}`;
}

async function live(kind: string, name: string, namespace?: string): Promise<Live> {
  const where = namespace ? ["-n", namespace] : [];
  return JSON.parse(await kubectlOk(["get", kind, name, ...where, "-o", "json"])) as Live;
}

/** `True/Ready` and the like, for the current generation only ("stale" otherwise). */
async function readyOf(kind: string, name: string, namespace?: string): Promise<string> {
  const obj = await live(kind, name, namespace);
  const ready = obj.status?.conditions?.find((c) => c.type === "Ready");
  if (!ready) return "none";
  const current =
    ready.observedGeneration === obj.metadata.generation &&
    obj.status?.observedGeneration === obj.metadata.generation;
  return current ? `${ready.status}/${ready.reason}` : "stale";
}

const untilReady = (kind: string, name: string, expected: string, namespace?: string) =>
  expect.poll(() => readyOf(kind, name, namespace), { timeout: 30_000, interval: 250 }).toBe(expected);

async function messageOf(kind: string, name: string, namespace?: string): Promise<string> {
  return (
    (await live(kind, name, namespace)).status?.conditions?.find((c) => c.type === "Ready")?.message ?? ""
  );
}

interface EventItem {
  reason?: string;
  type?: string;
  note?: string;
  regarding?: { kind?: string; name?: string };
}

async function eventsAbout(namespace: string, kind: string, name: string): Promise<EventItem[]> {
  const list = JSON.parse(
    await kubectlOk(["get", "events.events.k8s.io", "-n", namespace, "-o", "json"]),
  ) as { items: EventItem[] };
  return list.items.filter((e) => e.regarding?.kind === kind && e.regarding.name === name);
}

const reasonsOf = async (namespace: string, kind: string, name: string) =>
  (await eventsAbout(namespace, kind, name)).map((e) => `${e.type ?? ""}/${e.reason ?? ""}`).sort();

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("DataTrailsConnection status", () => {
  it("is Ready for working OWNER credentials, with columns, an Event and Argo CD Healthy", async () => {
    await kubectlOk(
      ["apply", "-f", "-"],
      [
        secret(ns, "good-admin", env.emulator.admin.clientId, env.emulator.admin.clientSecret),
        connection("good", "good-admin"),
      ],
    );
    await untilReady("datatrailsconnection", "good", "True/Ready", ns);
    expect(await messageOf("datatrailsconnection", "good", ns)).toBe(
      `Connected to ${env.emulator.url} as an OWNER (client ID ${env.emulator.admin.clientId}).`,
    );
    const [adminVersion, recorded] = await Promise.all([
      kubectlOk(["get", "secret", "good-admin", "-n", ns, "-o", "jsonpath={.metadata.resourceVersion}"]),
      live("datatrailsconnection", "good", ns),
    ]);
    expect(recorded.status?.credentialsSecretVersion).toBe(adminVersion);
    const table = await kubectlOk(["get", "datatrailsconnection", "good", "-n", ns]);
    const [header = "", row = ""] = table.trim().split("\n");
    expect(header.split(/\s+/)).toEqual(["NAME", "READY", "REASON", "URL", "AGE"]);
    expect(row.split(/\s+/).slice(0, 4)).toEqual(["good", "True", "Ready", env.emulator.url]);
    await expect
      .poll(() => reasonsOf(ns, "DataTrailsConnection", "good"), { timeout: 10_000 })
      .toEqual(["Normal/Connected"]);
    expect(await runHealthCheck(await live("datatrailsconnection", "good", ns))).toMatchObject({
      status: "Healthy",
    });
  });

  it("says CredentialsRejected for a wrong secret, and Ready again within seconds once it is fixed", async () => {
    await kubectlOk(
      ["apply", "-f", "-"],
      [
        secret(ns, "wrong-admin", env.emulator.admin.clientId, wrongSecret()),
        connection("wrong", "wrong-admin"),
      ],
    );
    await untilReady("datatrailsconnection", "wrong", "False/CredentialsRejected", ns);
    expect(await messageOf("datatrailsconnection", "wrong", ns)).toMatch(
      /unknown client or wrong secret \(HTTP 401\)/,
    );
    const health = await runHealthCheck(await live("datatrailsconnection", "wrong", ns));
    expect(health.status).toBe("Degraded");
    expect(health.message).toMatch(/unknown client or wrong secret/);
    await expect
      .poll(() => eventsAbout(ns, "DataTrailsConnection", "wrong"), { timeout: 10_000 })
      .toEqual([expect.objectContaining({ type: "Warning", reason: "ConnectionFailed" })]);
    const [failed] = await eventsAbout(ns, "DataTrailsConnection", "wrong");
    expect(failed?.note).toMatch(/^CredentialsRejected: /);

    const fixedAt = Date.now();
    await kubectlOk(
      ["apply", "-f", "-"],
      secret(ns, "wrong-admin", env.emulator.admin.clientId, env.emulator.admin.clientSecret),
    );
    await untilReady("datatrailsconnection", "wrong", "True/Ready", ns);
    expect(Date.now() - fixedAt).toBeLessThan(15_000);
    await expect
      .poll(() => reasonsOf(ns, "DataTrailsConnection", "wrong"), { timeout: 10_000 })
      .toEqual(["Normal/Connected", "Warning/ConnectionFailed"]);
  });

  it("notices a Ready connection's Secret broken behind its back, at the next check", async () => {
    await kubectlOk(
      ["apply", "-f", "-"],
      [
        secret(ns, "later-admin", env.emulator.admin.clientId, env.emulator.admin.clientSecret),
        connection("later", "later-admin"),
      ],
    );
    await untilReady("datatrailsconnection", "later", "True/Ready", ns);
    await kubectlOk(
      ["apply", "-f", "-"],
      secret(ns, "later-admin", env.emulator.admin.clientId, wrongSecret()),
    );
    await untilReady("datatrailsconnection", "later", "False/CredentialsRejected", ns);
  });

  it("says CredentialsRejected for an unknown client ID", async () => {
    await kubectlOk(
      ["apply", "-f", "-"],
      [
        secret(ns, "stranger-admin", randomUUID(), randomBytes(32).toString("hex")),
        connection("stranger", "stranger-admin"),
      ],
    );
    await untilReady("datatrailsconnection", "stranger", "False/CredentialsRejected", ns);
    expect(await messageOf("datatrailsconnection", "stranger", ns)).toMatch(/unknown client or wrong secret/);
  });

  it("says NotOwner for an integration without the OWNER role", async () => {
    const plain = await createApplication(env.emulator, `connection-status-plain-${suffix}`);
    await kubectlOk(
      ["apply", "-f", "-"],
      [secret(ns, "plain-admin", plain.clientId, plain.clientSecret), connection("plain", "plain-admin")],
    );
    await untilReady("datatrailsconnection", "plain", "False/NotOwner", ns);
    expect(await messageOf("datatrailsconnection", "plain", ns)).toMatch(
      new RegExp(`client ID ${plain.clientId}.*OWNER-only call \\(HTTP 403\\)`),
    );
  });

  it("says SecretNotFound for a missing Secret, and a Secret of that name in another namespace does not count", async () => {
    // `elsewhere-admin` exists, with the admin's credentials, in another namespace only.
    await kubectlOk(
      ["apply", "-f", "-"],
      [
        secret(other, "elsewhere-admin", env.emulator.admin.clientId, env.emulator.admin.clientSecret),
        connection("elsewhere", "elsewhere-admin"),
      ],
    );
    await untilReady("datatrailsconnection", "elsewhere", "False/SecretNotFound", ns);
    expect(await messageOf("datatrailsconnection", "elsewhere", ns)).toBe(
      `Secret ${ns}/elsewhere-admin not found.`,
    );
    await kubectlOk(
      ["apply", "-f", "-"],
      secret(ns, "elsewhere-admin", env.emulator.admin.clientId, env.emulator.admin.clientSecret),
    );
    await untilReady("datatrailsconnection", "elsewhere", "True/Ready", ns);
  });

  it("says DataTrailsUnavailable when nothing answers at the URL", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    await kubectlOk(
      ["apply", "-f", "-"],
      [
        secret(ns, "nowhere-admin", env.emulator.admin.clientId, env.emulator.admin.clientSecret),
        connection("nowhere", "nowhere-admin", url),
      ],
    );
    await untilReady("datatrailsconnection", "nowhere", "False/DataTrailsUnavailable", ns);
    expect(await messageOf("datatrailsconnection", "nowhere", ns)).toMatch(
      new RegExp(`^DataTrails at ${url} could not be reached or failed: `),
    );
  });

  it("states the new generation after a spec change", async () => {
    await kubectlOk(
      ["apply", "-f", "-"],
      [
        secret(ns, "moved-admin", env.emulator.admin.clientId, env.emulator.admin.clientSecret),
        connection("moved", "moved-admin"),
      ],
    );
    await untilReady("datatrailsconnection", "moved", "True/Ready", ns);
    const url = `http://127.0.0.1:${await closedPort()}`;
    await kubectlOk(["apply", "-f", "-"], connection("moved", "moved-admin", url));
    await untilReady("datatrailsconnection", "moved", "False/DataTrailsUnavailable", ns);
    expect((await live("datatrailsconnection", "moved", ns)).metadata.generation).toBe(2);
  });
});

describe("ClusterDataTrailsConnection status", () => {
  it("reads the Secret in the namespace it names: Ready, rejected, Ready again", async () => {
    const conn = clusterConnection("cluster-admin");
    await kubectlOk(
      ["apply", "-f", "-"],
      [secret(other, "cluster-admin", env.emulator.admin.clientId, env.emulator.admin.clientSecret), conn],
    );
    const name = conn.metadata.name;
    await untilReady("clusterdatatrailsconnection", name, "True/Ready");
    const table = await kubectlOk(["get", "clusterdatatrailsconnection", name]);
    expect(table.trim().split("\n")[0]?.split(/\s+/)).toEqual(["NAME", "READY", "REASON", "URL", "AGE"]);

    await kubectlOk(
      ["apply", "-f", "-"],
      secret(other, "cluster-admin", env.emulator.admin.clientId, wrongSecret()),
    );
    await untilReady("clusterdatatrailsconnection", name, "False/CredentialsRejected");
    expect((await runHealthCheck(await live("clusterdatatrailsconnection", name))).status).toBe("Degraded");

    await kubectlOk(
      ["apply", "-f", "-"],
      secret(other, "cluster-admin", env.emulator.admin.clientId, env.emulator.admin.clientSecret),
    );
    await untilReady("clusterdatatrailsconnection", name, "True/Ready");
    expect((await runHealthCheck(await live("clusterdatatrailsconnection", name))).status).toBe("Healthy");
    // Cluster-scoped objects' Events live in `default` (the second Connected joins the first's series).
    await expect
      .poll(() => reasonsOf("default", "ClusterDataTrailsConnection", name), { timeout: 10_000 })
      .toEqual(["Normal/Connected", "Warning/ConnectionFailed"]);
  });

  it("says NotOwner and SecretNotFound like a namespaced one", async () => {
    const plain = await createApplication(env.emulator, `connection-status-cluster-plain-${suffix}`);
    const notOwner = clusterConnection("cluster-plain");
    const missing = clusterConnection("cluster-missing");
    await kubectlOk(
      ["apply", "-f", "-"],
      [secret(other, "cluster-plain", plain.clientId, plain.clientSecret), notOwner, missing],
    );
    await untilReady("clusterdatatrailsconnection", notOwner.metadata.name, "False/NotOwner");
    await untilReady("clusterdatatrailsconnection", missing.metadata.name, "False/SecretNotFound");
    expect(await messageOf("clusterdatatrailsconnection", missing.metadata.name)).toBe(
      `Secret ${other}/cluster-missing not found.`,
    );
  });

  it("is left alone by an operator none of whose namespaces it allows", async () => {
    const conn = clusterConnection("cluster-admin-unused");
    conn.spec.allowedNamespaces = { names: [`not-watched-${suffix}`] };
    await kubectlOk(
      ["apply", "-f", "-"],
      [
        secret(other, "cluster-admin-unused", env.emulator.admin.clientId, env.emulator.admin.clientSecret),
        conn,
      ],
    );
    // Another connection made after it is checked, so this one has had its turn too.
    const witness = clusterConnection("cluster-admin-unused");
    await kubectlOk(["apply", "-f", "-"], witness);
    await untilReady("clusterdatatrailsconnection", witness.metadata.name, "True/Ready");
    expect(await readyOf("clusterdatatrailsconnection", conn.metadata.name)).toBe("none");
  });
});

describe("with the default (ten-minute) resync interval", () => {
  const restartNs = `connection-restart-${suffix}`;
  let quiet: TestEnv;

  beforeAll(async () => {
    // The default resync interval: nothing is due for ten minutes.
    quiet = await startTestEnv([restartNs]);
  });
  afterAll(async () => {
    await quiet?.stop();
  });

  it("asks DataTrails nothing for a connection that is Ready", async () => {
    await untilReady("datatrailsconnection", "datatrails", "True/Ready", restartNs);
    await waitForQuietController(quiet.operator.metricsPort, "datatrailsconnection", 1);
    const before = await live("datatrailsconnection", "datatrails", restartNs);
    quiet.emulator.control.resetCounters();
    await restartOperator(quiet);
    await expect.poll(() => quiet.operator.isReady(), { timeout: 30_000 }).toBe(true);
    await waitForQuietController(quiet.operator.metricsPort, "datatrailsconnection", 1);
    const calls = Object.entries(quiet.emulator.control.counters()).filter(([, n]) => n > 0);
    expect(calls).toEqual([]);
    const after = await live("datatrailsconnection", "datatrails", restartNs);
    expect(after.status).toEqual(before.status);
  });

  it("checks a Ready connection at once when its admin Secret changes (the Secret watch, not the resync)", async () => {
    await kubectlOk(
      ["apply", "-f", "-"],
      [
        secret(restartNs, "watched-admin", quiet.emulator.admin.clientId, quiet.emulator.admin.clientSecret),
        {
          ...connection("watched", "watched-admin", quiet.emulator.url),
          metadata: { name: "watched", namespace: restartNs },
        },
      ],
    );
    await untilReady("datatrailsconnection", "watched", "True/Ready", restartNs);
    const s = quiet.emulator.admin.clientSecret;
    const wrong = `${s.slice(0, -1)}${s.endsWith("0") ? "1" : "0"}`;
    await kubectlOk(
      ["apply", "-f", "-"],
      secret(restartNs, "watched-admin", quiet.emulator.admin.clientId, wrong),
    );
    await untilReady("datatrailsconnection", "watched", "False/CredentialsRejected", restartNs);
  });
});
