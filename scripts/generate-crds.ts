/**
 * Writes crds/*.yaml, and the same bytes to the Helm chart's crds/, from the zod schemas (run by
 * `make crds`). Unit tests fail when the files and the schemas disagree, or when the chart's copies
 * differ from crds/.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { crdFileName, crdYaml, kinds } from "../src/api/v1alpha1/crd.ts";

const root = resolve(import.meta.dirname, "..");
const targets = [join(root, "crds"), join(root, "charts", "datatrails-operator", "crds")];

for (const dir of targets) {
  await mkdir(dir, { recursive: true });
  for (const def of kinds) {
    await writeFile(join(dir, crdFileName(def)), crdYaml(def));
  }
}
process.stdout.write(
  `wrote ${kinds.length} CRDs to ${targets.map((t) => t.slice(root.length + 1)).join(", ")}\n`,
);
