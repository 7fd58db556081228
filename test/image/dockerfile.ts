/**
 * A small reader of the Dockerfile and .dockerignore, enough to replay the image build without a
 * Docker engine: stages, their instructions (continuation lines joined, JSON or shell form), global
 * ARGs substituted into FROM, and Docker's .dockerignore matching (last match wins, `!` re-includes,
 * a pattern that matches a directory excludes what is under it).
 */
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

/** One instruction, e.g. `{ keyword: "COPY", flags: { from: "builder" }, args: ["/app/dist", "./dist"] }`. */
export interface Instruction {
  keyword: string;
  /** `--name=value` flags before the arguments. */
  flags: Record<string, string>;
  /** The arguments: the JSON array when the instruction used one, else split on white space. */
  args: string[];
  /** The text after the keyword and flags, as written (for RUN). */
  raw: string;
  /** Whether the arguments were written as a JSON array (exec form). */
  json: boolean;
}

/** One FROM and what follows it. */
export interface Stage {
  /** The image, global ARGs substituted. */
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

function logicalLines(text: string): string[] {
  const lines: string[] = [];
  let current = "";
  for (const line of text.split("\n")) {
    if (/^\s*#/.test(line) && current === "") continue;
    if (/^\s*#/.test(line)) continue; // comments inside a continued instruction are dropped, as Docker does
    if (line.endsWith("\\")) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim() !== "") lines.push(current.trim());
    current = "";
  }
  if (current.trim() !== "") lines.push(current.trim());
  return lines;
}

function parseInstruction(line: string): Instruction {
  const match = /^(\S+)\s*(.*)$/s.exec(line);
  const keyword = (match?.[1] ?? "").toUpperCase();
  let rest = match?.[2] ?? "";
  const flags: Record<string, string> = {};
  for (
    let flag = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest);
    flag;
    flag = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest)
  ) {
    flags[flag[1] ?? ""] = flag[2] ?? "";
    rest = rest.slice(flag[0].length);
  }
  const raw = rest.trim();
  if (raw.startsWith("[")) {
    try {
      const parsed = JSON.parse(raw) as unknown;
      if (Array.isArray(parsed) && parsed.every((a) => typeof a === "string"))
        return { keyword, flags, args: parsed, raw, json: true };
    } catch {
      // Not JSON: shell form, as Docker treats it.
    }
  }
  return { keyword, flags, args: raw.split(/\s+/).filter(Boolean), raw, json: false };
}

/** The stages of a Dockerfile. */
export function parseDockerfile(text: string): Stage[] {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logicalLines(text)) {
    const instruction = parseInstruction(line);
    if (instruction.keyword === "ARG" && stages.length === 0) {
      const [name = "", value = ""] = instruction.raw.split("=", 2);
      globalArgs[name] = value;
      continue;
    }
    if (instruction.keyword === "FROM") {
      const [image = "", as, name] = instruction.args;
      const substituted = image.replace(
        /\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g,
        (_m, v: string) => globalArgs[v] ?? "",
      );
      stages.push({
        image: substituted,
        name: as?.toUpperCase() === "AS" ? name : undefined,
        instructions: [],
      });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`${instruction.keyword} before FROM`);
    stage.instructions.push(instruction);
  }
  return stages;
}

/** A .dockerignore, compiled. */
export interface DockerIgnore {
  /** Whether the context path (relative, `/`-separated) is left out of the build context. */
  excludes(path: string): boolean;
}

function patternRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? "";
    if (c === "*" && pattern[i + 1] === "*") {
      // `**/` matches any number of directories, including none.
      if (pattern[i + 2] === "/") {
        source += "(?:.*/)?";
        i += 2;
      } else {
        source += ".*";
        i += 1;
      }
    } else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/** Compiles a .dockerignore the way BuildKit reads it. */
export function parseDockerIgnore(text: string): DockerIgnore {
  const rules = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+/, "").replace(/\/+$/, "");
      return { negate, regexp: patternRegExp(pattern) };
    });
  return {
    excludes(path: string) {
      // The path and each of its parents: a pattern matching a directory matches what is under it.
      const parts = path.split("/");
      const candidates = parts.map((_p, i) => parts.slice(0, i + 1).join("/"));
      let excluded = false;
      for (const rule of rules) {
        if (candidates.some((c) => rule.regexp.test(c))) excluded = !rule.negate;
      }
      return excluded;
    },
  };
}

/** Every file under `dir` (relative to `root`, `/`-separated), or `dir` itself when it is a file. */
export function filesUnder(root: string, dir: string): string[] {
  const full = join(root, dir);
  if (!statSync(full).isDirectory()) return [relative(root, full)];
  return readdirSync(full, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split("\\").join("/"));
}
