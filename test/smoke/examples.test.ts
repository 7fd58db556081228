/**
 * Every manifest in examples/ is one the real API server admits (server-side dry run, with the CRDs
 * installed), and the workload example mounts the token the way the README says: as a Secret volume,
 * never through an environment variable or a subPath mount, which would keep the first token forever.
 * The reload example's integration names the Deployment that reads its credentials from the
 * environment (test/controllers/reload.test.ts applies it and rotates the secret).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { installCrds, kubectl, kubectlOk } from "../support/kubectl.ts";

const dir = join(import.meta.dirname, "..", "..", "examples");
const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
const ns = "it-examples";

interface PodSpec {
  containers: {
    env?: { valueFrom?: { secretKeyRef?: { name: string } } }[];
    envFrom?: { secretRef?: { name: string } }[];
    volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
  }[];
  volumes?: { name: string; secret?: { secretName: string } }[];
}

beforeAll(async () => {
  await installCrds();
  await kubectlOk(["create", "namespace", ns]);
});

describe("examples/", () => {
  it("holds the integration, the connection, a workload and on-demand control", () => {
    expect(files).toEqual(
      expect.arrayContaining([
        "connection.yaml",
        "traffic-light-101.yaml",
        "workload.yaml",
        "control.yaml",
        "secret-template.yaml",
      ]),
    );
  });

  it("shows every on-demand control in control.yaml: both request annotations and spec.suspend", () => {
    const [doc] = parseAllDocuments(readFileSync(join(dir, "control.yaml"), "utf8")).map(
      (d) => d.toJS() as { metadata: { annotations?: Record<string, string> }; spec: { suspend?: boolean } },
    );
    expect(Object.keys(doc?.metadata.annotations ?? {}).sort()).toEqual([
      "datatrails.ai/refresh-requested-at",
      "datatrails.ai/rotate",
    ]);
    expect(doc?.spec.suspend).toBe(true);
    // docs/control.md points at it; test/controllers/control.test.ts applies it for real.
    expect(readFileSync(join(dir, "..", "docs", "control.md"), "utf8")).toContain("examples/control.yaml");
  });

  it.each(files)("%s is admitted by the API server (server-side dry run)", async (file) => {
    const result = await kubectl(["apply", "--dry-run=server", "-n", ns, "-f", join(dir, file)]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/created \(server dry run\)/);
  });

  it("keeps every field of the secret-template example: the schema prunes nothing of its templates", async () => {
    const file = join(dir, "secret-template.yaml");
    const written = parseAllDocuments(readFileSync(file, "utf8"))[0]?.toJS() as { spec: unknown };
    const result = await kubectl(["apply", "--dry-run=server", "-n", ns, "-o", "json", "-f", file]);
    expect(result.status).toBe(0);
    const admitted = JSON.parse(result.stdout) as { spec: unknown };
    expect(admitted.spec).toEqual(written.spec);
  });

  it("mounts the token Secret as a volume, without subPath or environment variables", () => {
    const docs = parseAllDocuments(readFileSync(join(dir, "workload.yaml"), "utf8")).map(
      (d) => d.toJS() as { kind: string; spec: { template: { spec: PodSpec } } },
    );
    const deployment = docs.find((d) => d.kind === "Deployment");
    const pod = deployment?.spec.template.spec;
    expect(pod).toBeDefined();
    const tokenVolumes = (pod?.volumes ?? []).filter(
      (v) => v.secret?.secretName === "traffic-light-101-token",
    );
    expect(tokenVolumes).toHaveLength(1);
    const mounts = pod?.containers.flatMap((c) => c.volumeMounts ?? []) ?? [];
    const tokenMounts = mounts.filter((m) => m.name === tokenVolumes[0]?.name);
    expect(tokenMounts.length).toBeGreaterThan(0);
    for (const m of tokenMounts) expect(m.subPath).toBeUndefined();
    const fromEnv = pod?.containers.flatMap((c) => [
      ...(c.env ?? []).map((e) => e.valueFrom?.secretKeyRef?.name),
      ...(c.envFrom ?? []).map((e) => e.secretRef?.name),
    ]);
    expect(fromEnv).not.toContain("traffic-light-101-token");
    // The path the container reads is the mounted directory plus the key.
    const command = JSON.stringify(pod?.containers);
    expect(command).toContain(`${tokenMounts[0]?.mountPath}/bearer-token.txt`);
  });
});

describe("examples/reload.yaml", () => {
  it("names, in spec.reload, the Deployment that reads the integration's credentials from the environment", () => {
    const docs = parseAllDocuments(readFileSync(join(dir, "reload.yaml"), "utf8")).map(
      (d) =>
        d.toJS() as {
          kind: string;
          metadata: { name: string };
          spec: {
            reload?: { targets: { kind: string; name?: string }[] };
            template?: { spec: PodSpec };
          };
        },
    );
    const integration = docs.find((d) => d.kind === "DataTrailsIntegration");
    const deployment = docs.find((d) => d.kind === "Deployment");
    expect(integration?.spec.reload?.targets).toEqual([
      { kind: "Deployment", name: deployment?.metadata.name },
    ]);
    const fromEnv = deployment?.spec.template?.spec.containers.flatMap((c) =>
      (c.env ?? []).map((e) => e.valueFrom?.secretKeyRef?.name),
    );
    expect(fromEnv).toContain(`${integration?.metadata.name ?? ""}-credentials`);
  });
});
