/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. `node bench/burst.ts --profile=1`):
 * the functions with the most self time, and the files (or packages) with the most total self time.
 *
 *   node bench/profile-top.ts bench/profiles/burst.cpuprofile [--top=25]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { top: { type: "string", default: "25" } },
});
const file = positionals[0];
if (!file) throw new Error("usage: node bench/profile-top.ts <file.cpuprofile> [--top=25]");
const profile = JSON.parse(readFileSync(file, "utf8")) as {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
};
const top = Number(values.top);

// Self time per node from the samples and their time deltas (µs).
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

/** Where a frame comes from: a package under node_modules, a file of ours, or a Node internal. */
function origin(url: string): string {
  if (url === "") return "(native/VM)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `pkg:${pkg[1]}`;
  if (url.startsWith("node:")) return url;
  const src = /\/((?:src|bench|test)\/.*)$/.exec(url);
  return src?.[1] ?? url;
}

const byFunction = new Map<string, number>();
const byOrigin = new Map<string, number>();
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0;
  if (us === 0) continue;
  const f = node.callFrame;
  const key = `${f.functionName || "(anonymous)"} ${origin(f.url)}:${f.lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  byOrigin.set(origin(f.url), (byOrigin.get(origin(f.url)) ?? 0) + us);
}
const print = (title: string, m: Map<string, number>) => {
  process.stdout.write(`${title}\n`);
  for (const [k, us] of [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(
      `  ${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}\n`,
    );
  }
};
process.stdout.write(`total sampled: ${(total / 1e6).toFixed(2)} s\n`);
print("self time by function:", byFunction);
print("self time by file or package:", byOrigin);
