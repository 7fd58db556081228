/**
 * The BearerToken reconciler at its seam: real gather → decide → fetch → decide → apply over an
 * in-memory Secret store and issuer (src/controllers/testing). Each case names what is given and
 * what one reconcile must then have done.
 */
import { describe, expect, it } from "vitest";
import {
  bearerTokenSpec,
  expiresAtAnnotation,
  managedByLabel,
  managedByValue,
  refreshAnnotation,
  type BearerToken,
} from "../../api/v1alpha1/index.ts";
import { createFakeClock } from "../../k8s/fake-clock.ts";
import { createSecretCache } from "../../k8s/secret-cache.ts";
import { statusChanged } from "../../k8s/status.ts";
import type { WorkResult } from "../../k8s/work-queue.ts";
import type { EventInput } from "../../k8s/events.ts";
import { createLogger } from "../../observability/logger.ts";
import { createMetrics } from "../../observability/metrics.ts";
import { FakeSecretInformer } from "../testing/fake-secret-informer.ts";
import { FakeSecretStore } from "../testing/fake-secret-store.ts";
import { FakeTokenIssuer } from "../testing/fake-token-issuer.ts";
import { soleOwnership } from "../testing/sole-ownership.ts";
import { tokenReconciler } from "./controller.ts";

const namespace = "team-a";
const name = "tl";
const key = `${namespace}/${name}`;
const tokenSecret = "tl-token";
const credentials = "tl-credentials";
const min = 60_000;

/** A BearerToken, its credentials Secret, the issuer and the reconciler, all in memory. */
class TokenWorld {
  readonly clock = createFakeClock(Date.UTC(2026, 5, 1, 12));
  readonly secrets = new FakeSecretStore();
  readonly issuer = new FakeTokenIssuer(() => this.clock.now());
  readonly events: EventInput[] = [];
  readonly metrics = createMetrics({ defaultMetrics: false });
  token: BearerToken = {
    apiVersion: "datatrails.ai/v1alpha1",
    kind: "BearerToken",
    metadata: { name, namespace, uid: "b0b0b0b0-0000-4000-8000-000000000001", generation: 1 },
    spec: bearerTokenSpec.parse({
      secretName: tokenSecret,
      dataTrails: { credentialsSecretRef: { name: credentials } },
    }),
  } as BearerToken;

  constructor() {
    this.putCredentials("secret-1");
  }

  /** The credentials Secret the issuer reads (a rotation writes a new secret into it). */
  putCredentials(secret: string): void {
    this.secrets.put({
      metadata: { name: credentials, namespace, uid: "creds-uid" },
      data: {
        client_id: Buffer.from("client").toString("base64"),
        client_secret: Buffer.from(secret).toString("base64"),
      },
    });
  }

  reason(type: string): string | undefined {
    return this.token.status?.conditions?.find((c) => c.type === type)?.reason;
  }

  published(): Record<string, string> | undefined {
    return this.secrets.values(namespace, tokenSecret);
  }

  reconcile(): Promise<WorkResult> {
    return tokenReconciler({
      getToken: () => structuredClone(this.token),
      lookupSecret: (ns: string, n: string) => this.secrets.get(ns, n),
      ownership: soleOwnership,
      issuerFor: () => this.issuer,
      verify: () => Promise.resolve(undefined),
      secrets: this.secrets,
      events: { record: (_obj, event) => void this.events.push(event) },
      writeStatus: (_obj, status) => {
        this.token = { ...this.token, status: structuredClone(status) };
        return Promise.resolve();
      },
      clock: this.clock,
      logger: createLogger({ level: "silent" }),
      metrics: this.metrics,
    })(key);
  }

  /** The token expiry gauge's samples for this BearerToken. */
  async gauge(): Promise<number[]> {
    const { values } = await this.metrics.tokenExpiryTimestampSeconds.get();
    return values.filter((v) => v.labels["name"] === name).map((v) => v.value);
  }
}

/** A token published by an earlier reconcile; then a quiet start. */
async function published(w: TokenWorld): Promise<void> {
  await w.reconcile();
  w.issuer.requests = 0;
  w.secrets.writes.length = 0;
  w.events.length = 0;
}

interface Expected {
  /** Token requests the reconcile made. */
  requests: number;
  /** What happened to the token Secret. */
  secret: "created" | "applied" | "untouched";
  /** The reason of TokenReady and Ready, when a status is written. */
  reason?: string;
  events: string[];
  also?: (w: TokenWorld, result: WorkResult | undefined) => void | Promise<void>;
}

const cases: { name: string; given: (w: TokenWorld) => Promise<void> | void; expect: Expected }[] = [
  {
    name: "a first token is fetched and published, with its file and expiry",
    given: () => undefined,
    expect: {
      requests: 1,
      secret: "created",
      reason: "TokenValid",
      events: ["TokenRefreshed"],
      also: (w) => {
        expect(w.published()).toEqual({
          access_token: "opaque-token-1",
          "bearer-token.txt": "Authorization: Bearer opaque-token-1\n",
          expires_at: "2026-06-01T13:00:00Z",
        });
        expect(w.token.status?.tokenExpiresAt).toBe("2026-06-01T13:00:00Z");
      },
    },
  },
  {
    name: "the first look after a restart, the Secret there with its annotations, requests no token",
    given: async (w) => {
      await published(w);
      w.token = { ...w.token, status: {} }; // even a status lost costs no request
      await w.clock.advance(5 * min);
    },
    expect: {
      requests: 0,
      secret: "untouched",
      reason: "TokenValid",
      events: [],
      also: (w, result) => {
        expect(w.token.status?.tokenExpiresAt).toBe("2026-06-01T13:00:00Z");
        expect(result?.requeueAfterMs).toBeGreaterThan(30 * min);
      },
    },
  },
  {
    name: "a token due for refresh is replaced, without an Event for a routine refresh",
    given: async (w) => {
      await published(w);
      await w.clock.advance(50 * min);
    },
    expect: {
      requests: 1,
      secret: "applied",
      reason: "TokenValid",
      events: [],
      also: (w) => expect(w.published()?.["access_token"]).toBe("opaque-token-2"),
    },
  },
  {
    name: "the issuer failing with a 5xx keeps the valid token: RefreshFailing and a Warning",
    given: async (w) => {
      await published(w);
      await w.clock.advance(50 * min);
      w.issuer.failNext("Unavailable");
    },
    expect: {
      requests: 1,
      secret: "untouched",
      reason: "RefreshFailing",
      events: ["TokenRefreshFailed"],
      also: (w) => {
        expect(w.published()?.["access_token"]).toBe("opaque-token-1");
        expect(w.token.status?.consecutiveFailures).toBe(1);
      },
    },
  },
  {
    name: "the issuer rejecting the credentials with no token held is CredentialsRejected",
    given: (w) => void w.issuer.failNext("Rejected"),
    expect: {
      requests: 1,
      secret: "untouched",
      reason: "CredentialsRejected",
      events: ["TokenRefreshFailed"],
    },
  },
  {
    name: "rotated credentials are used at once: a new token is published",
    given: async (w) => {
      await published(w);
      await w.clock.advance(min);
      w.putCredentials("secret-2");
    },
    expect: {
      requests: 1,
      secret: "applied",
      reason: "TokenValid",
      events: ["TokenRefreshed"],
      also: (w) => expect(w.published()?.["access_token"]).toBe("opaque-token-2"),
    },
  },
  {
    name: "a credentials Secret that is missing is SecretNotFound, and nothing is asked",
    given: (w) => {
      w.token = {
        ...w.token,
        spec: {
          ...w.token.spec,
          dataTrails: {
            credentialsSecretRef: {
              name: "nowhere",
              clientIdKey: "client_id",
              clientSecretKey: "client_secret",
            },
          },
        },
      };
    },
    expect: { requests: 0, secret: "untouched", reason: "SecretNotFound", events: ["TokenRefreshFailed"] },
  },
  {
    name: "a Secret of that name that is a user's is left alone: SecretNotOwned",
    given: (w) => {
      w.secrets.put({
        metadata: { name: tokenSecret, namespace, annotations: { [expiresAtAnnotation]: "x" } },
        data: {},
      });
    },
    expect: {
      requests: 0,
      secret: "untouched",
      reason: "SecretNotOwned",
      events: ["SecretNotOwned"],
      also: (w) => expect(w.published()).toEqual({}),
    },
  },
  {
    name: "a refresh request is one token request, recorded; the same value again is none",
    given: async (w) => {
      await published(w);
      await w.clock.advance(5 * min);
      w.token = { ...w.token, metadata: { ...w.token.metadata, annotations: { [refreshAnnotation]: "r1" } } };
    },
    expect: {
      requests: 1,
      secret: "applied",
      reason: "TokenValid",
      events: ["TokenRefreshed"],
      also: async (w) => {
        expect(w.token.status?.lastRefreshRequest).toBe("r1");
        await w.reconcile();
        expect(w.issuer.requests).toBe(1);
      },
    },
  },
  {
    name: "a suspended BearerToken past its refresh point requests nothing and writes no Secret",
    given: async (w) => {
      await published(w);
      await w.clock.advance(55 * min);
      w.token = {
        ...w.token,
        metadata: { ...w.token.metadata, generation: 2 },
        spec: { ...w.token.spec, suspend: true },
      };
    },
    expect: {
      requests: 0,
      secret: "untouched",
      events: ["Suspended"],
      also: async (w) => {
        expect(w.reason("Suspended")).toBe("Suspended");
        expect(w.reason("TokenReady")).toBe("TokenValid");
        expect(await w.gauge()).toEqual([Date.parse("2026-06-01T13:00:00Z") / 1000]);
      },
    },
  },
  {
    name: "a BearerToken being deleted is left to the garbage collector, and its gauge goes",
    given: async (w) => {
      await published(w);
      expect(await w.gauge()).toHaveLength(1);
      w.token = { ...w.token, metadata: { ...w.token.metadata, deletionTimestamp: "2026-06-01T12:00:00Z" } };
    },
    expect: {
      requests: 0,
      secret: "untouched",
      events: [],
      also: async (w, result) => {
        expect(result).toBeUndefined();
        expect(await w.gauge()).toEqual([]);
      },
    },
  },
];

describe("BearerToken reconcile", () => {
  it.each(cases)("$name", async ({ given, expect: want }) => {
    const w = new TokenWorld();
    await given(w);
    w.secrets.writes.length = 0;

    const result = await w.reconcile();

    expect(w.issuer.requests).toBe(want.requests);
    const writes = w.secrets.writes.map((x) => x.split(" ")[0]);
    expect(writes).toEqual(
      want.secret === "untouched" ? [] : [want.secret === "created" ? "create" : "apply"],
    );
    if (want.reason !== undefined) {
      expect(w.reason("TokenReady")).toBe(want.reason);
      expect(w.reason("Ready")).toBe(want.reason);
    }
    expect(w.events.map((e) => e.reason)).toEqual(want.events);
    await want.also?.(w, result);
  });
});

/**
 * The same reconciler wired as the operator wires it: Secrets through the shared cache
 * (secret-cache.ts) over an informer that lags until told to catch up, the BearerToken from a cache
 * that lags its status writes, a status write only when the status changed (as patchStatus). Reads
 * and writes are counted per refresh.
 */
class CachedWorld {
  readonly clock = createFakeClock(Date.UTC(2026, 5, 1, 12));
  readonly store = new FakeSecretStore();
  readonly informer = new FakeSecretInformer();
  readonly issuer = new FakeTokenIssuer(() => this.clock.now());
  /** The names the namespace's Secret list answers with (a list made before any Secret here). */
  readonly listed: string[] = [];
  readonly cache = createSecretCache({
    informer: this.informer,
    get: (ns, n) => this.store.get(ns, n),
    watched: () => true,
    listNames: () => Promise.resolve({ names: [...this.listed], resourceVersion: "1" }),
  });
  /** The BearerToken as the API server has it. */
  token: BearerToken;
  /** The BearerToken as the cache shows it (behind until synced). */
  cached: BearerToken;
  statusWrites = 0;
  #rv = 1;
  readonly #reconcile: (key: string) => Promise<WorkResult>;

  constructor(credentialsLabels: Record<string, string> | undefined) {
    this.store.onWritten = (s) => this.cache.wrote(s);
    this.putCredentials("secret-1", credentialsLabels);
    const base = new TokenWorld().token;
    this.token = { ...base, metadata: { ...base.metadata, resourceVersion: "1" } };
    this.cached = structuredClone(this.token);
    const updates: ((t: BearerToken) => void)[] = [];
    this.sync = () => {
      this.informer.catchUp(this.store);
      this.cached = structuredClone(this.token);
      for (const fn of updates) fn(structuredClone(this.cached));
    };
    this.#reconcile = tokenReconciler({
      getToken: () => structuredClone(this.cached),
      tokenUpdates: { on: (event, fn) => void (event === "update" && updates.push(fn)) },
      lookupSecret: this.cache.lookup,
      ownership: soleOwnership,
      issuerFor: () => this.issuer,
      verify: () => Promise.resolve(undefined),
      secrets: this.store,
      events: { record: () => undefined },
      writeStatus: (obj, status) => {
        if (!statusChanged(obj.status, status)) return Promise.resolve();
        this.statusWrites += 1;
        this.token = {
          ...this.token,
          metadata: { ...this.token.metadata, resourceVersion: String(++this.#rv) },
          status: structuredClone(status),
        };
        return Promise.resolve();
      },
      clock: this.clock,
      logger: createLogger({ level: "silent" }),
    });
  }

  /** The caches catch up with the API server (the watch events arrive). */
  readonly sync: () => void;

  putCredentials(secret: string, labels?: Record<string, string>): string {
    return this.store.put({
      metadata: { name: credentials, namespace, uid: "creds-uid", ...(labels ? { labels } : {}) },
      data: {
        client_id: Buffer.from("client").toString("base64"),
        client_secret: Buffer.from(secret).toString("base64"),
      },
    });
  }

  reconcile(): Promise<WorkResult> {
    return this.#reconcile(key);
  }

  /** Reads, Secret writes and status writes since the last reset. */
  counts() {
    return {
      reads: this.store.reads.length,
      secretWrites: this.store.writes.length,
      statusWrites: this.statusWrites,
    };
  }

  reset(): void {
    this.store.reads.length = 0;
    this.store.writes.length = 0;
    this.statusWrites = 0;
    this.issuer.requests = 0;
  }

  /** A token published and every cache caught up; then the clock at the refresh point. */
  async due(): Promise<void> {
    await this.reconcile();
    this.sync();
    await this.reconcile();
    this.reset();
    await this.clock.advance(50 * min);
  }
}

describe("a routine refresh, counted", () => {
  const inputs = [
    {
      name: "credentials the operator wrote (an integration's)",
      labels: { [managedByLabel]: managedByValue },
    },
    { name: "credentials a user wrote", labels: undefined },
  ];
  it.each(inputs)(
    "with $name: one Secret apply, one status write, no read, whatever the caches show",
    async ({ labels }) => {
      const w = new CachedWorld(labels);
      await w.due();

      await w.reconcile(); // the scheduled refresh
      expect(w.issuer.requests).toBe(1);
      await w.reconcile(); // woken by the token Secret's event, before any cache caught up
      w.sync();
      await w.reconcile(); // and once more with every cache caught up

      expect(w.counts()).toEqual({ reads: 0, secretWrites: 1, statusWrites: 1 });
      expect(w.issuer.requests).toBe(1);
      expect(w.store.values(namespace, tokenSecret)?.["access_token"]).toBe("opaque-token-2");
    },
  );

  it("reads the credentials from the API server when the issuer refuses the cached ones, and asks again", async () => {
    const w = new CachedWorld(undefined);
    await w.due();
    w.putCredentials("secret-2"); // rotated; the Secret watch has not reported it yet
    w.issuer.failNext("Rejected");

    await w.reconcile();

    expect(w.issuer.requests).toBe(2);
    expect(w.store.reads).toEqual([`${namespace}/${tokenSecret}`, `${namespace}/${credentials}`]);
    expect(w.store.values(namespace, tokenSecret)?.["access_token"]).toBe("opaque-token-2");
    expect(w.token.status?.conditions?.find((c) => c.type === "Ready")?.reason).toBe("TokenValid");
  });

  it("does not ask again when the fresh read finds the credentials refused unchanged", async () => {
    const w = new CachedWorld(undefined);
    await w.due();
    w.issuer.failNext("Rejected");

    await w.reconcile();

    expect(w.issuer.requests).toBe(1);
    expect(w.token.status?.conditions?.find((c) => c.type === "TokenReady")?.reason).toBe("RefreshFailing");
  });

  it("a first look that took the token Secret's name as free, when a user's Secret took it a moment ago, is refused by the create and then by the claim", async () => {
    const w = new CachedWorld(undefined);
    // A user's Secret of that name whose watch event has not arrived: the name list does not show it.
    const before = w.store.put({ metadata: { name: tokenSecret, namespace }, data: { note: "theirs" } });
    await expect(w.reconcile()).rejects.toMatchObject({ code: "AlreadyExists" });
    expect(w.store.reads).toContain(`${namespace}/${tokenSecret}`);
    await w.reconcile();
    expect(w.issuer.requests).toBe(1);
    expect(w.token.status?.conditions?.find((c) => c.type === "TokenReady")?.reason).toBe("SecretNotOwned");
    await expect(w.store.get(namespace, tokenSecret)).resolves.toMatchObject({
      metadata: { resourceVersion: before },
    });
  });
});
