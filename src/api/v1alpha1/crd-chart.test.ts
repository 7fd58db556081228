import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { crdFileName, kinds } from "./crd.ts";

// Helm installs the chart's crds/ and users `kubectl apply` crds/: both must be the same bytes, or the
// two ways of installing give different APIs. `make crds` writes both from the zod schemas.
const root = join(import.meta.dirname, "..", "..", "..");
const crdDir = join(root, "crds");
const chartCrdDir = join(root, "charts", "datatrails-operator", "crds");

describe("the Helm chart's CRDs", () => {
  it.each(kinds.map((k) => [crdFileName(k)] as const))(
    "charts/datatrails-operator/crds/%s is byte-identical to crds/ (run `make crds` if not)",
    (file) => {
      expect(readFileSync(join(chartCrdDir, file)).equals(readFileSync(join(crdDir, file)))).toBe(true);
    },
  );

  it("holds exactly the files of crds/, nothing more or less", () => {
    expect(readdirSync(chartCrdDir).sort()).toEqual(readdirSync(crdDir).sort());
  });
});
