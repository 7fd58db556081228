/**
 * Runs every test case of the given files alone, one `vitest run <file> -t '<its name>'` at a time,
 * and reports the cases that fail when nothing else of their file ran first. It checks the rule
 * that each case sets up what it needs (docs/testing.md); it is slow (one control plane per case),
 * so it is not part of CI: run it over the files you change.
 *
 *   node scripts/each-case-alone.ts test/chart/operator-rbac.test.ts [more files...]
 *
 * Cases made by `it.each` / `describe.each` are listed once by vitest, with their placeholders
 * (`%s`, `$name`, `${...}`); such a name is run as a pattern that matches each of its instances,
 * which then run together, but still without the file's other cases.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";

interface ListedCase {
  name: string;
  file: string;
  projectName?: string;
}

interface JsonReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: { assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
}

const root = resolve(import.meta.dirname, "..");
const vitest = join(root, "node_modules", ".bin", "vitest");
const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write("usage: node scripts/each-case-alone.ts <test file>...\n");
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), "each-case-alone-"));
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** A `-t` pattern that matches the case's full name (each instance of a templated name) and no other. */
function patternOf(name: string): string {
  const placeholder = /%[sdifjoOc#%]|\$\{[^}]*\}|\$[A-Za-z_][\w.]*/g;
  let out = "";
  let last = 0;
  for (const m of name.matchAll(placeholder)) {
    out += escape(name.slice(last, m.index)) + ".*";
    last = m.index + m[0].length;
  }
  return `^${out}${escape(name.slice(last))}$`;
}

function list(file: string): ListedCase[] {
  const out = join(work, "list.json");
  const r = spawnSync(vitest, ["list", `--json=${out}`, file], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`vitest list ${file} failed:\n${r.stdout}${r.stderr}`);
  const cases = JSON.parse(readFileSync(out, "utf8")) as ListedCase[];
  return cases.filter((c) => resolve(c.file) === resolve(root, file));
}

interface Outcome {
  file: string;
  name: string;
  passed: number;
  failed: number;
  seconds: number;
  why?: string;
}

const outcomes: Outcome[] = [];
for (const file of files) {
  const cases = list(file);
  const names = [...new Set(cases.map((c) => c.name))];
  process.stdout.write(`${relative(root, resolve(root, file))}: ${names.length} cases\n`);
  for (const name of names) {
    const report = join(work, "report.json");
    rmSync(report, { force: true });
    const started = Date.now();
    const r = spawnSync(
      vitest,
      ["run", file, "-t", patternOf(name), "--reporter=json", `--outputFile=${report}`],
      { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
    );
    const seconds = Math.round((Date.now() - started) / 1000);
    let outcome: Outcome = { file, name, passed: 0, failed: 0, seconds };
    try {
      const json = JSON.parse(readFileSync(report, "utf8")) as JsonReport;
      const failures = json.testResults
        .flatMap((t) => t.assertionResults)
        .filter((a) => a.status === "failed")
        .map((a) => `${a.fullName}: ${(a.failureMessages[0] ?? "").split("\n")[0]}`);
      outcome = { ...outcome, passed: json.numPassedTests, failed: json.numFailedTests };
      if (json.numPassedTests + json.numFailedTests === 0)
        outcome.why = "no case ran: the pattern matched none";
      else if (failures.length > 0) outcome.why = failures.join("\n    ");
      else if (r.status !== 0)
        outcome.why = `vitest exited ${r.status} (a hook failed?)\n${r.stderr.slice(-2000)}`;
    } catch {
      outcome.why = `no report (vitest exited ${r.status}):\n${(r.stdout + r.stderr).slice(-2000)}`;
      outcome.failed = Math.max(outcome.failed, 1);
    }
    outcomes.push(outcome);
    const verdict = outcome.why ? "FAIL" : "ok  ";
    process.stdout.write(`  ${verdict} ${name} (${outcome.passed} passed, ${seconds} s)\n`);
    if (outcome.why) process.stdout.write(`    ${outcome.why}\n`);
  }
}
rmSync(work, { recursive: true, force: true });

const bad = outcomes.filter((o) => o.why);
process.stdout.write(
  `\n${outcomes.length} cases run alone, ${bad.length} failed${bad.length ? ":" : "."}\n` +
    bad.map((o) => `  ${o.file}: ${o.name}\n`).join(""),
);
process.exit(bad.length > 0 ? 1 : 0);
