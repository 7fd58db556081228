/**
 * Heap per integration, from heap snapshots of the operator process (run as the image runs it, see
 * bench/lib/operator.ts): it starts with --heapsnapshot-signal=SIGUSR2, `warmup` integrations are
 * created (so the code paths of a create are compiled before the first snapshot) and once they are
 * Ready a first snapshot is written; then `count` more are created and once all are Ready, a second
 * one. A snapshot holds only what is reachable after a full GC, so the difference of the two is what
 * the operator keeps per integration (its caches, indexes, queues, timers), independent of the
 * machine's load, unlike RSS. Prints the difference in bytes per integration and per 1,000, without
 * compiled code (which the JIT grows or drops as it likes), and the constructors (or node types) that
 * grew most. The snapshots are deleted once read.
 *
 *   node bench/heap.ts [--count=100] [--warmup=10]
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createIntegrations, names, repoRoot, startBenchEnv } from "./lib/env.ts";
import type { OperatorChild } from "./lib/operator.ts";
import { intFlags, machine, report, round } from "./lib/report.ts";
import { readyTracker } from "./lib/watch.ts";

const flags = intFlags({ count: 100, warmup: 10 });
const m = machine();
const dir = join(repoRoot, "bench", "profiles");
mkdirSync(dir, { recursive: true });

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self sizes summed by constructor (objects) or by node type (strings, code, …). */
interface HeapSummary {
  totalBytes: number;
  byName: Map<string, { bytes: number; count: number }>;
}

async function writeSnapshot(operator: OperatorChild): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(operator.pid, "SIGUSR2");
  for (;;) {
    await sleep(1000);
    const file = readdirSync(dir).find((f) => f.endsWith(".heapsnapshot") && !before.has(f));
    if (!file) continue;
    // Written in pieces: complete once its size stops changing and it parses.
    let size = -1;
    while (statSync(join(dir, file)).size !== size) {
      size = statSync(join(dir, file)).size;
      await sleep(1000);
    }
    return join(dir, file);
  }
}

async function summarise(path: string): Promise<HeapSummary> {
  let snap: Snapshot | undefined;
  for (let tries = 0; !snap; tries++) {
    try {
      snap = JSON.parse(readFileSync(path, "utf8")) as Snapshot;
    } catch (err) {
      if (tries > 60) throw err;
      await sleep(2000);
    }
  }
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const types = snap.snapshot.meta.node_types[0];
  const byName = new Map<string, { bytes: number; count: number }>();
  let totalBytes = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt] as number] ?? "?";
    const name =
      type === "object" || type === "native"
        ? (snap.strings[snap.nodes[i + nameAt] as number] ?? "?")
        : `(${type})`;
    const size = snap.nodes[i + sizeAt] as number;
    totalBytes += size;
    const e = byName.get(name) ?? { bytes: 0, count: 0 };
    e.bytes += size;
    e.count += 1;
    byName.set(name, e);
  }
  rmSync(path);
  return { totalBytes, byName };
}

const env = await startBenchEnv({ namespace: "heap" });
let result;
try {
  const operator = await env.startOperator({
    nodeFlags: ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${dir}`],
  });
  const tracker = await readyTracker(env.plane.kubeConfig, env.namespace);
  await createIntegrations(env, names("warm", flags.warmup));
  await tracker.waitFor(flags.warmup, 30 * 60_000);
  await sleep(10_000);
  const empty = await summarise(await writeSnapshot(operator));
  await createIntegrations(env, names("heap", flags.count));
  await tracker.waitFor(flags.warmup + flags.count, 30 * 60_000);
  tracker.stop();
  await sleep(10_000);
  const rssMb = operator.sample().rssMb;
  const full = await summarise(await writeSnapshot(operator));
  const grew = [...full.byName.entries()]
    .map(([name, e]) => {
      const was = empty.byName.get(name) ?? { bytes: 0, count: 0 };
      return { name, bytes: e.bytes - was.bytes, count: e.count - was.count };
    })
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 20)
    .map((g) => ({
      name: g.name,
      bytesPerIntegration: round(g.bytes / flags.count, 0),
      objectsPerIntegration: round(g.count / flags.count, 1),
    }));
  const code = (s: HeapSummary) => s.byName.get("(code)")?.bytes ?? 0;
  const delta = full.totalBytes - code(full) - (empty.totalBytes - code(empty));
  result = {
    integrations: flags.count,
    heapBytesBefore: empty.totalBytes,
    heapBytesAfter: full.totalBytes,
    codeBytesBefore: code(empty),
    codeBytesAfter: code(full),
    heapBytesPerIntegration: round(delta / flags.count, 0),
    heapMbPer1000Integrations: round(((delta / flags.count) * 1000) / 2 ** 20, 2),
    grewMost: grew,
    // Busy machine: not a measurement, kept for orientation only.
    rssMbBusyMachine: round(rssMb, 0),
  };
} finally {
  await env.stop();
}
report(`heap-${flags.count}`, m, flags, result, [
  `${flags.warmup} → ${flags.warmup + flags.count} integrations: live heap ` +
    `${round(result.heapBytesBefore / 2 ** 20, 1)} → ${round(result.heapBytesAfter / 2 ** 20, 1)} MB; ` +
    `without compiled code ${result.heapBytesPerIntegration} bytes per integration ` +
    `(${result.heapMbPer1000Integrations} MB per 1,000)`,
  ...result.grewMost
    .slice(0, 12)
    .map(
      (g) =>
        `  ${String(g.bytesPerIntegration).padStart(8)} B ${String(g.objectsPerIntegration).padStart(6)} objects  ${g.name}`,
    ),
]);
