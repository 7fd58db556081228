/**
 * Writes docs/crd-reference.md from the zod schemas (run by `make crds`). A unit test fails when the
 * page and the schemas disagree.
 */
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { crdReference } from "../src/api/v1alpha1/reference.ts";

const target = join(resolve(import.meta.dirname, ".."), "docs", "crd-reference.md");
await writeFile(target, crdReference());
process.stdout.write("wrote docs/crd-reference.md\n");
