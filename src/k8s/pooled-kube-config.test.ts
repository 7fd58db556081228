import { HttpMethod, KubeConfig, RequestContext } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { PooledKubeConfig } from "./pooled-kube-config.ts";

const pem = Buffer.from("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").toString("base64");

function base(users: { name: string; token: string }[]): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: "https://127.0.0.1:6443", caData: pem, skipTLSVerify: false }],
    users: users.map((u) => ({ name: u.name, token: u.token })),
    contexts: users.map((u) => ({ name: u.name, cluster: "c", user: u.name })),
    currentContext: users[0]?.name ?? "",
  });
  return kc;
}

async function authenticate(kc: KubeConfig, method: HttpMethod = HttpMethod.GET) {
  const context = new RequestContext("https://127.0.0.1:6443/api/v1/secrets", method);
  await kc.applySecurityAuthentication(context);
  return context;
}

const opened: PooledKubeConfig[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((p) => p.close()));
});

describe("PooledKubeConfig", () => {
  it("gives every request the same dispatcher and still authenticates each one", async () => {
    const pooled = PooledKubeConfig.from(base([{ name: "alice", token: "t-alice" }]));
    opened.push(pooled);
    const a = await authenticate(pooled);
    const b = await authenticate(pooled);
    expect(a.getDispatcher()).toBeDefined();
    expect(b.getDispatcher()).toBe(a.getDispatcher());
    expect(b.getHeaders()["Authorization"]).toBe("Bearer t-alice");
    expect(pooled.pools()).toBe(1);
  });

  it("asks for uncompressed bodies, which fetch would otherwise ask to be gzipped", async () => {
    const pooled = PooledKubeConfig.from(base([{ name: "alice", token: "t-alice" }]));
    opened.push(pooled);
    expect((await authenticate(pooled)).getHeaders()["Accept-Encoding"]).toBe("identity");
    expect(
      (await authenticate(base([{ name: "alice", token: "t-alice" }]))).getHeaders()["Accept-Encoding"],
    ).toBeUndefined();
  });

  it("keeps one pool per user", async () => {
    const pooled = PooledKubeConfig.from(
      base([
        { name: "alice", token: "t-alice" },
        { name: "bob", token: "t-bob" },
      ]),
    );
    opened.push(pooled);
    const a = await authenticate(pooled);
    pooled.setCurrentContext("bob");
    const b = await authenticate(pooled);
    expect(b.getDispatcher()).not.toBe(a.getDispatcher());
    expect(b.getHeaders()["Authorization"]).toBe("Bearer t-bob");
    expect(pooled.pools()).toBe(2);
  });

  it("differs from the library, which builds a dispatcher per request", async () => {
    const plain = base([{ name: "alice", token: "t-alice" }]);
    const a = await authenticate(plain);
    const b = await authenticate(plain);
    expect(b.getDispatcher()).not.toBe(a.getDispatcher());
  });

  it("copies the clusters, users and context of its base", () => {
    const kc = base([{ name: "alice", token: "t-alice" }]);
    const pooled = PooledKubeConfig.from(kc);
    opened.push(pooled);
    expect(pooled.getCurrentCluster()?.server).toBe("https://127.0.0.1:6443");
    expect(pooled.getCurrentUser()?.name).toBe("alice");
  });

  it("closes its pools", async () => {
    const pooled = PooledKubeConfig.from(base([{ name: "alice", token: "t-alice" }]));
    await authenticate(pooled);
    await pooled.close();
    expect(pooled.pools()).toBe(0);
  });

  it("asks beforeWrite about every request but a GET, and a throw refuses the request", async () => {
    const asked: string[] = [];
    const pooled = PooledKubeConfig.from(base([{ name: "alice", token: "t-alice" }]), (method) => {
      asked.push(method);
      if (method === "DELETE") throw new Error("refused");
    });
    opened.push(pooled);
    await authenticate(pooled, HttpMethod.GET);
    await authenticate(pooled, HttpMethod.PATCH);
    await expect(authenticate(pooled, HttpMethod.DELETE)).rejects.toThrow("refused");
    expect(asked).toEqual(["PATCH", "DELETE"]);
  });
});
