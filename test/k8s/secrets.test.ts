/**
 * KubeSecretStore against the real API server: server-side apply with the operator's field manager
 * keeps keys other managers own, removes keys we stop sending, and wins conflicts on keys we own.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoreV1Api, type V1Secret } from "@kubernetes/client-node";
import { KubeError } from "../../src/k8s/errors.ts";
import { withAccept } from "../../src/k8s/secret-feed.ts";
import {
  KubeSecretStore,
  decodeSecretData,
  secretNameLister,
  type AppliedSecret,
} from "../../src/k8s/secrets.ts";
import { kubectlOk } from "../support/kubectl.ts";
import { createNamespace, sharedKubeConfig, uniqueName } from "./support.ts";
import { encodedSecretManifest, secretManifest } from "../support/manifests.ts";

describe("KubeSecretStore (server-side apply)", () => {
  const kc = sharedKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const store = new KubeSecretStore(kc);
  const namespace = uniqueName("k8s-secrets");
  let deleteNamespace: () => Promise<void>;

  beforeAll(async () => {
    deleteNamespace = await createNamespace(kc, namespace);
  });
  afterAll(async () => {
    await deleteNamespace();
  });

  const applied = (
    name: string,
    data: Record<string, string>,
    over: Partial<AppliedSecret> = {},
  ): AppliedSecret => ({
    namespace,
    name,
    labels: { "app.kubernetes.io/managed-by": "datatrails-operator" },
    data,
    ...over,
  });
  const read = async (name: string): Promise<V1Secret> => core.readNamespacedSecret({ name, namespace });

  it("creates an Opaque Secret with labels, annotations, owner and data, owned by datatrails-operator", async () => {
    const owner = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "owner" } } });
    await store.apply(
      applied(
        "creds",
        { client_id: "id-1", client_secret: "s3cret-1" },
        {
          annotations: { "datatrails.ai/expires-at": "2030-01-01T00:00:00Z" },
          ownerReferences: [
            {
              apiVersion: "v1",
              kind: "ConfigMap",
              name: "owner",
              uid: owner.metadata?.uid ?? "",
              controller: true,
            },
          ],
        },
      ),
    );
    const secret = await read("creds");
    expect(secret.type).toBe("Opaque");
    expect(decodeSecretData(secret)).toEqual({ client_id: "id-1", client_secret: "s3cret-1" });
    expect(secret.metadata?.labels).toEqual({ "app.kubernetes.io/managed-by": "datatrails-operator" });
    expect(secret.metadata?.annotations).toEqual({ "datatrails.ai/expires-at": "2030-01-01T00:00:00Z" });
    expect(secret.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: "ConfigMap",
      name: "owner",
      controller: true,
    });
    const managers = secret.metadata?.managedFields?.map((f) => `${f.manager}/${f.operation}`);
    expect(managers).toEqual(["datatrails-operator/Apply"]);
  });

  it("keeps a key another manager added with a plain update, and removes a key we stop sending", async () => {
    await store.apply(applied("token", { access_token: "t1", expires_at: "e1" }));
    const current = await read("token");
    await core.replaceNamespacedSecret({
      name: "token",
      namespace,
      fieldManager: "someone-else",
      body: { ...current, data: { ...current.data, user_note: Buffer.from("mine").toString("base64") } },
    });

    await store.apply(applied("token", { access_token: "t2" }));

    expect(decodeSecretData(await read("token"))).toEqual({ access_token: "t2", user_note: "mine" });
  });

  it("keeps a key and a label a user added with kubectl apply --server-side", async () => {
    await store.apply(applied("shared", { a: "1", b: "2" }));
    await kubectlOk(
      ["apply", "--server-side", "--field-manager=user", "-f", "-"],
      secretManifest(namespace, "shared", { extra: "from-user" }, { labels: { team: "payments" } }),
    );

    await store.apply(applied("shared", { a: "1b" }));

    const secret = await read("shared");
    expect(decodeSecretData(secret)).toEqual({ a: "1b", extra: "from-user" });
    expect(secret.metadata?.labels).toMatchObject({
      team: "payments",
      "app.kubernetes.io/managed-by": "datatrails-operator",
    });
  });

  it("takes back a key it owns that a user overwrote (forced apply)", async () => {
    await store.apply(applied("forced", { client_secret: "ours" }));
    await kubectlOk(
      ["apply", "--server-side", "--force-conflicts", "--field-manager=user", "-f", "-"],
      encodedSecretManifest(namespace, "forced", { client_secret: "theirs" }),
    );
    expect(decodeSecretData(await read("forced")).client_secret).toBe("theirs");

    await store.apply(applied("forced", { client_secret: "ours" }));

    expect(decodeSecretData(await read("forced")).client_secret).toBe("ours");
  });

  it("returns undefined for a Secret that does not exist", async () => {
    await store.apply(applied("present", { client_id: "id-1" }));
    expect(await store.get(namespace, "absent")).toBeUndefined();
    expect(decodeSecretData(await store.get(namespace, "present"))).toMatchObject({ client_id: "id-1" });
  });

  it("fails with a KubeError that carries no secret value", async () => {
    const attempt = store.apply({
      namespace: uniqueName("no-such-ns"),
      name: "x",
      data: { client_secret: "never-shown-123" },
    });
    await expect(attempt).rejects.toBeInstanceOf(KubeError);
    await expect(attempt).rejects.toMatchObject({ code: "NotFound", status: 404 });
    const err = (await attempt.catch((e: unknown) => e)) as KubeError;
    expect(JSON.stringify({ ...err, message: err.message, stack: err.stack })).not.toMatch(
      /never-shown-123|bmV2ZXItc2hvd24tMTIz/,
    );
  });

  it("lists the namespace's Secret names (secretNameLister) from a metadata-only list that carries no value", async () => {
    await store.create(applied("listed-a", { client_secret: "listed-value-1" }));
    await store.create(applied("listed-b", { client_secret: "listed-value-2" }));
    const { names, resourceVersion } = await secretNameLister(kc)(namespace);
    expect(names).toEqual(expect.arrayContaining(["listed-a", "listed-b"]));
    expect(Number(resourceVersion)).toBeGreaterThan(0);
    // The same request as the lister's: the API server answers with metadata only.
    const page = await withAccept(kc, "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1")
      .makeApiClient(CoreV1Api)
      .listNamespacedSecret({ namespace, limit: 500 });
    expect(page.items.length).toBeGreaterThanOrEqual(2);
    expect(page.items.every((item) => item.data === undefined)).toBe(true);
    expect(JSON.stringify(page)).not.toContain(Buffer.from("listed-value-1").toString("base64"));
  });
});
