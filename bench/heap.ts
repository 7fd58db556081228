/**
 * Heap snapshot of the operator process: starts the environment and the operator with
 * --heapsnapshot-signal=SIGUSR2, optionally creates `count` integrations and waits until they are
 * Ready, then writes a snapshot into bench/profiles/ and prints the largest constructors by
 * retained self size, and the process's RSS and V8 heap numbers.
 *
 *   node bench/heap.ts [--count=0]
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createIntegrations, names, repoRoot, startBenchEnv } from "./lib/env.ts";
import { intFlags, round } from "./lib/report.ts";
import { readyTracker } from "./lib/watch.ts";

const flags = intFlags({ count: 0 });
const dir = join(repoRoot, "bench", "profiles");
const env = await startBenchEnv({ namespace: "heap" });
try {
  const operator = await env.startOperator({
    nodeFlags: ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${dir}`],
  });
  if (flags.count > 0) {
    const tracker = await readyTracker(env.plane.kubeConfig, env.namespace);
    await createIntegrations(env, names("heap", flags.count));
    await tracker.waitFor(flags.count, 30 * 60_000);
    tracker.stop();
  }
  await sleep(10_000);
  const before = new Set(readdirSync(dir));
  const rss = operator.sample().rssMb;
  process.kill(operator.pid, "SIGUSR2");
  let file: string | undefined;
  while (!file) {
    await sleep(1000);
    file = readdirSync(dir).find((f) => f.endsWith(".heapsnapshot") && !before.has(f));
    // The snapshot is complete once its size stops changing.
    if (file) {
      let size = -1;
      while (statSync(join(dir, file)).size !== size) {
        size = statSync(join(dir, file)).size;
        await sleep(1000);
      }
    }
  }
  type Snapshot = {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  let snap: Snapshot | undefined;
  // Written in pieces: parse once the whole document is there.
  for (let tries = 0; !snap; tries++) {
    try {
      snap = JSON.parse(readFileSync(join(dir, file), "utf8")) as Snapshot;
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
  const bySize = new Map<string, { size: number; count: number }>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt] as number] ?? "?";
    const name =
      type === "object" || type === "native" ? snap.strings[snap.nodes[i + nameAt] as number] : `(${type})`;
    const size = snap.nodes[i + sizeAt] as number;
    total += size;
    const e = bySize.get(name ?? "?") ?? { size: 0, count: 0 };
    e.size += size;
    e.count += 1;
    bySize.set(name ?? "?", e);
  }
  process.stdout.write(
    `${flags.count} integrations: RSS ${round(rss, 0)} MB, heap (self sizes) ${round(total / 2 ** 20, 1)} MB; ${file}\n`,
  );
  for (const [name, e] of [...bySize.entries()].sort((a, b) => b[1].size - a[1].size).slice(0, 25)) {
    process.stdout.write(
      `  ${round(e.size / 2 ** 20, 2)
        .toString()
        .padStart(8)} MB ${String(e.count).padStart(8)}  ${name}\n`,
    );
  }
} finally {
  await env.stop();
}
