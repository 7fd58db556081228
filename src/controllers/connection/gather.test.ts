import type { V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { ClusterDataTrailsConnection, DataTrailsConnection } from "../../api/v1alpha1/index.ts";
import type { AccessToken, ApplicationPage } from "../../datatrails/api.ts";
import { DataTrailsError } from "../../datatrails/errors.ts";
import { KubeError } from "../../k8s/errors.ts";
import type { ResolvedConnection } from "../integration/gather.ts";
import {
  adminSecretKey,
  gatherConnection,
  type ConnectionGatherDeps,
  type ConnectionKind,
  type ConnectionObject,
  type ConnectionProbeApi,
} from "./gather.ts";

const meta = { uid: "u", generation: 1, resourceVersion: "1" };
const namespaced: DataTrailsConnection = {
  apiVersion: "datatrails.ai/v1alpha1",
  kind: "DataTrailsConnection",
  metadata: { ...meta, name: "datatrails", namespace: "team-a" },
  // A namespaced connection has no namespace field; one smuggled in must not be followed.
  spec: { url: "http://dt.example/", credentialsSecretRef: { name: "admin", namespace: "kube-system" } },
} as unknown as DataTrailsConnection;
const cluster: ClusterDataTrailsConnection = {
  apiVersion: "datatrails.ai/v1alpha1",
  kind: "ClusterDataTrailsConnection",
  metadata: { ...meta, name: "shared" },
  spec: { url: "http://dt.example", credentialsSecretRef: { name: "admin", namespace: "vault" } },
} as unknown as ClusterDataTrailsConnection;

const secret = (data: Record<string, string>): V1Secret => ({
  metadata: { resourceVersion: "41" },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
});
const good = secret({ client_id: "cid", client_secret: "s3cr3t" });
const token: AccessToken = {
  accessToken: "jwt",
  tokenType: "Bearer",
  expiresInSeconds: 3600,
  obtainedAt: new Date(0),
  expiresAt: new Date(3_600_000),
};
const page: ApplicationPage = { applications: [], nextPageToken: "" };
const dtError = (code: "Unauthenticated" | "PermissionDenied" | "ConnectionFailed", status?: number) =>
  new DataTrailsError(code, status ? `HTTP ${status}` : "connect ECONNREFUSED", {
    operation: "x",
    ...(status ? { status } : {}),
  });

/** A fake that records what it was asked, with function fields to make it fail. */
function fakes(over: {
  secret?: V1Secret | undefined | Error;
  getToken?: () => Promise<AccessToken>;
  list?: () => Promise<ApplicationPage>;
}) {
  const asked = { secrets: [] as string[], clients: [] as ResolvedConnection[], calls: [] as string[] };
  const api: ConnectionProbeApi = {
    getToken: async () => {
      asked.calls.push("getToken");
      return over.getToken ? over.getToken() : token;
    },
    listApplicationsPage: async (q) => {
      asked.calls.push(`list pageSize=${q.pageSize ?? "-"}`);
      return over.list ? over.list() : page;
    },
  };
  const deps: ConnectionGatherDeps = {
    lookupSecret: (namespace, name) => {
      asked.secrets.push(`${namespace}/${name}`);
      if (over.secret instanceof Error) return Promise.reject(over.secret);
      return Promise.resolve("secret" in over ? over.secret : good);
    },
    apiFor: (c) => {
      asked.clients.push(c);
      return api;
    },
  };
  return { deps, asked };
}

interface Case {
  name: string;
  kind: ConnectionKind;
  object: ConnectionObject;
  over: Parameters<typeof fakes>[0];
  state: string;
  detail?: Record<string, unknown>;
  secretRead: string;
  calls: string[];
}

const cases: Case[] = [
  {
    name: "a namespaced connection: its own namespace's Secret, the token endpoint, one OWNER call",
    kind: "DataTrailsConnection",
    object: namespaced,
    over: {},
    state: "connected",
    detail: { url: "http://dt.example", clientId: "cid" },
    secretRead: "team-a/admin",
    calls: ["getToken", "list pageSize=1"],
  },
  {
    name: "a cluster connection: the namespace it names",
    kind: "ClusterDataTrailsConnection",
    object: cluster,
    over: {},
    state: "connected",
    secretRead: "vault/admin",
    calls: ["getToken", "list pageSize=1"],
  },
  {
    name: "no Secret: nothing asked of DataTrails",
    kind: "DataTrailsConnection",
    object: namespaced,
    over: { secret: undefined },
    state: "secretMissing",
    detail: { secret: "team-a/admin", missingKeys: [] },
    secretRead: "team-a/admin",
    calls: [],
  },
  {
    name: "a Secret without client_secret",
    kind: "DataTrailsConnection",
    object: namespaced,
    over: { secret: secret({ client_id: "cid" }) },
    state: "secretMissing",
    detail: { missingKeys: ["client_secret"] },
    secretRead: "team-a/admin",
    calls: [],
  },
  {
    name: "a Secret RBAC does not let the operator read",
    kind: "ClusterDataTrailsConnection",
    object: cluster,
    over: {
      secret: new KubeError({ code: "Forbidden", operation: "read Secret vault/admin", message: "no" }),
    },
    state: "secretMissing",
    detail: { unreadable: true },
    secretRead: "vault/admin",
    calls: [],
  },
  {
    name: "401 at the token endpoint: the OWNER call is not made",
    kind: "DataTrailsConnection",
    object: namespaced,
    over: { getToken: () => Promise.reject(dtError("Unauthenticated", 401)) },
    state: "failed",
    detail: { step: "token", code: "Unauthenticated", status: 401, clientId: "cid" },
    secretRead: "team-a/admin",
    calls: ["getToken"],
  },
  {
    name: "403 on the OWNER call",
    kind: "DataTrailsConnection",
    object: namespaced,
    over: { list: () => Promise.reject(dtError("PermissionDenied", 403)) },
    state: "failed",
    detail: { step: "owner", code: "PermissionDenied", status: 403 },
    secretRead: "team-a/admin",
    calls: ["getToken", "list pageSize=1"],
  },
  {
    name: "nothing listening",
    kind: "DataTrailsConnection",
    object: namespaced,
    over: { getToken: () => Promise.reject(dtError("ConnectionFailed")) },
    state: "failed",
    detail: { step: "token", code: "ConnectionFailed" },
    secretRead: "team-a/admin",
    calls: ["getToken"],
  },
];

describe("gatherConnection", () => {
  it.each(cases)("$name", async (c) => {
    const { deps, asked } = fakes(c.over);
    const observed = await gatherConnection(c.kind, c.object, deps);
    expect(observed.check).toMatchObject({ state: c.state, ...c.detail });
    expect(asked.secrets).toEqual([c.secretRead]);
    expect(asked.calls).toEqual(c.calls);
    // What is observed is logged and turned into status: never the secret.
    expect(JSON.stringify(observed.check)).not.toContain("s3cr3t");
  });

  it("records the admin Secret's resourceVersion", async () => {
    const { deps } = fakes({});
    expect((await gatherConnection("DataTrailsConnection", namespaced, deps)).secretVersion).toBe("41");
  });

  it("asks for the client of the connection's URL (without a trailing slash) and rate", async () => {
    const { deps, asked } = fakes({});
    await gatherConnection("DataTrailsConnection", namespaced, deps);
    expect(asked.clients).toEqual([
      { url: "http://dt.example", clientId: "cid", clientSecret: "s3cr3t", requestsPerSecond: 10 },
    ]);
  });

  it("reports an invalid spec without reading anything", async () => {
    const { deps, asked } = fakes({});
    const broken = { ...namespaced, spec: { url: "not a url", credentialsSecretRef: { name: "admin" } } };
    const observed = await gatherConnection("DataTrailsConnection", broken as ConnectionObject, deps);
    expect(observed.check.state).toBe("invalidSpec");
    expect(JSON.stringify(observed.check)).toMatch(/spec\.url/);
    expect(asked.secrets).toEqual([]);
  });
});

describe("adminSecretKey", () => {
  it.each([
    {
      name: "a namespaced connection",
      kind: "DataTrailsConnection" as const,
      object: namespaced,
      key: "team-a/admin",
    },
    {
      name: "a cluster connection",
      kind: "ClusterDataTrailsConnection" as const,
      object: cluster,
      key: "vault/admin",
    },
  ])("$name → $key", ({ kind, object, key }) => {
    expect(adminSecretKey(kind, object)).toBe(key);
  });
});
