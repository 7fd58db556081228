/**
 * CRD upgrades with `crds.manage` against the test control plane: `helm upgrade` to a chart whose
 * CRD has an added field puts that field into the API server's CRD, and the objects made before
 * the upgrade are still there, unchanged; uninstall leaves the CRDs (helm.sh/resource-policy: keep).
 * Without `crds.manage` the same upgrade leaves the CRD as it was (Helm never upgrades crds/), and
 * a release installed that way switches over with `--take-ownership` (docs/helm.md, "Upgrading
 * CRDs").
 *
 * The charts are copies of the real one in a temporary directory, the second with the field added.
 * Their CRDs are renamed into an API group of this file's own, so that the upgrade changes nothing
 * the other test files (which share this control plane and the datatrails.ai CRDs) rely on; the
 * templates under test are the chart's own.
 */
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { kubectl, kubectlOk } from "../support/kubectl.ts";
import { chartDir, helm, helmOk, type RunResult } from "./helm.ts";

const suffix = randomBytes(3).toString("hex");
const added = "addedInUpgrade";
const kind = "DataTrailsConnection";

interface Crd {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind?: string;
      plural: string;
      singular?: string;
      shortNames?: string[];
      categories?: string[];
    };
    versions: {
      name: string;
      schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, unknown> } } } };
    }[];
  };
}

/**
 * A copy of the chart with its CRDs in `group` and their names prefixed (`prefix` + plural, the kind
 * capitalised the same way), so that kubectl in the other test files, which share this API server,
 * never resolves `datatrailsintegration` to one of these; `withField` adds a string field to the
 * connection's spec.
 */
function chartCopy(group: string, prefix: string, withField: boolean): string {
  const dir = join(mkdtempSync(join(tmpdir(), "chart-crd-upgrade-")), "datatrails-operator");
  cpSync(chartDir, dir, { recursive: true });
  const crdDir = join(dir, "crds");
  for (const file of readdirSync(crdDir)) {
    const crd = parse(readFileSync(join(crdDir, file), "utf8")) as Crd;
    const isConnection = crd.spec.names.kind === kind;
    const names = crd.spec.names;
    names.plural = prefix + names.plural;
    if (names.singular) names.singular = prefix + names.singular;
    names.kind = prefixedKind(prefix, names.kind);
    if (names.listKind) names.listKind = prefixedKind(prefix, names.listKind);
    crd.metadata.name = `${names.plural}.${group}`;
    crd.spec.group = group;
    // Short names and categories are cluster-wide too: the real CRDs keep theirs.
    delete names.shortNames;
    delete names.categories;
    if (withField && isConnection)
      for (const v of crd.spec.versions)
        v.schema.openAPIV3Schema.properties.spec.properties[added] = {
          type: "string",
          description: "A field the upgrade adds.",
        };
    writeFileSync(join(crdDir, file), stringify(crd));
  }
  return dir;
}

const prefixedKind = (prefix: string, k: string) => `${prefix[0]?.toUpperCase() ?? ""}${prefix.slice(1)}${k}`;

/** One release and the CRD group and names its charts use. */
function setup(name: string) {
  const group = `${name}-${suffix}.upgrade.test`;
  return {
    release: `${name}-${suffix}`,
    namespace: `chart-${name}-${suffix}`,
    group,
    prefix: name,
    kind: prefixedKind(name, kind),
    crd: `${name}datatrailsconnections.${group}`,
    v1: chartCopy(group, name, false),
    v2: chartCopy(group, name, true),
  };
}
type Setup = ReturnType<typeof setup>;

const managed = setup("crdup");
const legacy = setup("crdold");

const helmIn = (s: Setup, args: string[]) =>
  helm([...args, s.release, "--namespace", s.namespace], { withCluster: true });

async function specFields(s: Setup): Promise<string[]> {
  const crd = JSON.parse(await kubectlOk(["get", "crd", s.crd, "-o", "json"])) as Crd;
  return Object.keys(crd.spec.versions[0]?.schema.openAPIV3Schema.properties.spec.properties ?? {}).sort();
}

const connection = (s: Setup, name: string, extra: Record<string, string> = {}) => ({
  apiVersion: `${s.group}/v1alpha1`,
  kind: s.kind,
  metadata: { name, namespace: s.namespace },
  spec: { credentialsSecretRef: { name: "admin" }, url: "https://app.datatrails.ai", ...extra },
});

async function getConnection(s: Setup, name: string) {
  return JSON.parse(await kubectlOk(["get", s.crd, name, "-n", s.namespace, "-o", "json"])) as {
    metadata: { uid: string };
    spec: Record<string, unknown>;
  };
}

async function waitEstablished(s: Setup) {
  await kubectlOk(["wait", "--for=condition=Established", "--timeout=60s", `crd/${s.crd}`]);
}

// What the managed release saw: before and after its upgrade, and the object made before it.
let managedBefore: string[];
let managedAfter: string[];
let rejectedBefore: RunResult;
let uidBefore: string;
// What the release installed without crds.manage saw.
let legacyAfterPlainUpgrade: string[];
let legacyNoTakeOwnership: RunResult;
let legacyAfterTakeOwnership: string[];

beforeAll(async () => {
  // crds.manage: the CRDs are release objects (crds/ skipped, as docs/helm.md says to install).
  await helmOk(
    [
      "install",
      managed.release,
      managed.v1,
      "--namespace",
      managed.namespace,
      "--create-namespace",
      "--skip-crds",
      "--set",
      "crds.manage=true",
    ],
    { withCluster: true },
  );
  await waitEstablished(managed);
  managedBefore = await specFields(managed);
  await kubectlOk(
    ["apply", "--server-side", "--field-manager=crd-upgrade-test", "-f", "-"],
    connection(managed, "before"),
  );
  uidBefore = (await getConnection(managed, "before")).metadata.uid;
  rejectedBefore = await kubectl(
    ["apply", "--server-side", "--field-manager=crd-upgrade-test", "-f", "-"],
    connection(managed, "too-early", { [added]: "x" }),
  );
  await helmOk(["upgrade", managed.release, managed.v2, "--namespace", managed.namespace, "--reuse-values"], {
    withCluster: true,
  });
  await waitEstablished(managed);
  managedAfter = await specFields(managed);

  // The default: crds/ installed once by Helm, never upgraded.
  await helmOk(
    ["install", legacy.release, legacy.v1, "--namespace", legacy.namespace, "--create-namespace"],
    {
      withCluster: true,
    },
  );
  await waitEstablished(legacy);
  await kubectlOk(
    ["apply", "--server-side", "--field-manager=crd-upgrade-test", "-f", "-"],
    connection(legacy, "before"),
  );
  await helmOk(["upgrade", legacy.release, legacy.v2, "--namespace", legacy.namespace, "--reuse-values"], {
    withCluster: true,
  });
  legacyAfterPlainUpgrade = await specFields(legacy);
  legacyNoTakeOwnership = await helm(
    [
      "upgrade",
      legacy.release,
      legacy.v2,
      "--namespace",
      legacy.namespace,
      "--reuse-values",
      "--set",
      "crds.manage=true",
    ],
    { withCluster: true },
  );
  await helmOk(
    [
      "upgrade",
      legacy.release,
      legacy.v2,
      "--namespace",
      legacy.namespace,
      "--reuse-values",
      "--set",
      "crds.manage=true",
      "--take-ownership",
    ],
    { withCluster: true },
  );
  await waitEstablished(legacy);
  legacyAfterTakeOwnership = await specFields(legacy);
}, 300_000);

afterAll(async () => {
  for (const s of [managed, legacy]) {
    await helmIn(s, ["uninstall"]);
    for (const plural of [
      "bearertokens",
      "clusterdatatrailsconnections",
      "datatrailsconnections",
      "datatrailsintegrations",
    ])
      await kubectl([
        "delete",
        "crd",
        `${s.prefix}${plural}.${s.group}`,
        "--ignore-not-found",
        "--wait=false",
      ]);
    await kubectl(["delete", "namespace", s.namespace, "--wait=false"]);
  }
}, 180_000);

describe("helm upgrade with crds.manage", () => {
  it("renders the real chart's four CRDs as templates that pass helm lint --strict", async () => {
    const out = await helmOk(["lint", "--strict", chartDir, "--set", "crds.manage=true"]);
    expect(out).toContain("1 chart(s) linted, 0 chart(s) failed");
    const rendered = await helmOk(["template", "r", chartDir, "--set", "crds.manage=true"]);
    expect(rendered.match(/^kind: CustomResourceDefinition$/gm)).toHaveLength(4);
  });

  it("adds the new chart's field to the API server's CRD", () => {
    expect(managedBefore).not.toContain(added);
    expect(managedAfter).toEqual([...managedBefore, added].sort());
  });

  it("keeps the objects made before the upgrade, unchanged", async () => {
    const before = await getConnection(managed, "before");
    expect(before.metadata.uid).toBe(uidBefore);
    expect(before.spec).toEqual(connection(managed, "before").spec);
  });

  it("accepts and stores the new field after the upgrade, not before", async () => {
    expect(rejectedBefore.status).not.toBe(0);
    expect(rejectedBefore.stderr).toContain(added);
    await kubectlOk(
      ["apply", "--server-side", "--field-manager=crd-upgrade-test", "-f", "-"],
      connection(managed, "after", { [added]: "kept" }),
    );
    expect((await getConnection(managed, "after")).spec[added]).toBe("kept");
  });

  it("puts the CRDs in the release, with helm.sh/resource-policy: keep", async () => {
    const manifest = await helmOk(["get", "manifest", managed.release, "--namespace", managed.namespace], {
      withCluster: true,
    });
    expect(manifest.match(/^kind: CustomResourceDefinition$/gm)).toHaveLength(4);
    const crd = JSON.parse(await kubectlOk(["get", "crd", managed.crd, "-o", "json"])) as Crd;
    expect(crd.metadata.annotations).toMatchObject({
      "helm.sh/resource-policy": "keep",
      "meta.helm.sh/release-name": managed.release,
    });
  });
});

describe("helm upgrade without crds.manage (the default)", () => {
  it("leaves the CRD as crds/ installed it", () => {
    expect(legacyAfterPlainUpgrade).not.toContain(added);
  });

  it("refuses to take over the existing CRDs without --take-ownership, naming the CRD", () => {
    expect(legacyNoTakeOwnership.status).not.toBe(0);
    expect(legacyNoTakeOwnership.stderr).toMatch(/CustomResourceDefinition.*exists and cannot be imported/);
  });

  it("switches over with --take-ownership: the CRD gets the field, the object stays", async () => {
    expect(legacyAfterTakeOwnership).toContain(added);
    expect((await getConnection(legacy, "before")).spec).toEqual(connection(legacy, "before").spec);
  });
});

describe("helm uninstall with crds.manage", () => {
  // Last: it removes the release the cases above read (each of them runs alone after beforeAll).
  it("leaves the CRDs and every object of their kinds", async () => {
    await helmOk(["uninstall", managed.release, "--namespace", managed.namespace], { withCluster: true });
    await waitEstablished(managed);
    expect((await getConnection(managed, "before")).metadata.uid).toBe(uidBefore);
  });
});
