import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ownServiceAccount, serviceAccountOwner } from "./service-account.ts";

const dir = mkdtempSync(join(tmpdir(), "sa-token-"));
const encode = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
/** A token shaped as the kubelet mounts it (unsigned here: the module decodes, never verifies). */
function tokenFile(name: string, claims: object): string {
  const path = join(dir, name);
  writeFileSync(path, `${encode({ alg: "RS256", kid: "k" })}.${encode(claims)}.c2ln\n`);
  return path;
}
const projected = {
  iss: "https://kubernetes.default.svc",
  sub: "system:serviceaccount:datatrails-system:dt-datatrails-operator",
  "kubernetes.io": {
    namespace: "datatrails-system",
    serviceaccount: { name: "dt-datatrails-operator", uid: "5a0c3e4f-1111-2222-3333-444455556666" },
    pod: { name: "dt-datatrails-operator-abc", uid: "p-1" },
  },
};

describe("ownServiceAccount", () => {
  it("reads the namespace, name and UID a projected ServiceAccount token names", () => {
    expect(ownServiceAccount(tokenFile("projected", projected))).toEqual({
      namespace: "datatrails-system",
      name: "dt-datatrails-operator",
      uid: "5a0c3e4f-1111-2222-3333-444455556666",
    });
  });

  it("names nobody without a token file, with a token that is not a JWT, or one naming no ServiceAccount", () => {
    expect(ownServiceAccount(join(dir, "absent"))).toBeUndefined();
    const garbage = join(dir, "garbage");
    writeFileSync(garbage, "not a token");
    expect(ownServiceAccount(garbage)).toBeUndefined();
    expect(ownServiceAccount(tokenFile("plain", { sub: "someone" }))).toBeUndefined();
  });
});

describe("serviceAccountOwner", () => {
  const account = { namespace: "datatrails-system", name: "dt", uid: "u-1" };

  it("is an ownerReference to the ServiceAccount for an object in its namespace", () => {
    expect(serviceAccountOwner(account, "datatrails-system")).toEqual({
      apiVersion: "v1",
      kind: "ServiceAccount",
      name: "dt",
      uid: "u-1",
    });
  });

  it("is none for another namespace (ownerReferences cannot cross namespaces) or without an account", () => {
    expect(serviceAccountOwner(account, "elsewhere")).toBeUndefined();
    expect(serviceAccountOwner(undefined, "datatrails-system")).toBeUndefined();
  });
});
