/**
 * Runs deploy/argocd/health.lua (and the resource actions in deploy/argocd/actions) in a real Lua 5.1 interpreter (`lua5.1`, as `make lua` installs it)
 * the way Argo CD does: the object as the global `obj`, the script's returned table read back. The
 * object goes in as a Lua table literal made here, so the harness needs no JSON library.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";

/** The health script under test. */
export const healthScript = join(import.meta.dirname, "..", "..", "deploy", "argocd", "health.lua");

/** What the script returned. */
export interface HealthStatus {
  status: string;
  message: string;
}

/** A Lua string literal holding exactly the UTF-8 bytes of `value` (printable ASCII as is, the rest as \ddd). */
export function luaString(value: string): string {
  let out = '"';
  for (const byte of Buffer.from(value, "utf8")) {
    const printable = byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c;
    out += printable ? String.fromCharCode(byte) : `\\${byte.toString().padStart(3, "0")}`;
  }
  return `${out}"`;
}

/** `value` (anything JSON can hold) as a Lua table literal, as Argo CD hands objects to Lua. */
export function toLua(value: unknown): string {
  if (value === null || value === undefined) return "nil";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`cannot pass ${value} to Lua`);
    return String(value);
  }
  if (typeof value === "string") return luaString(value);
  if (Array.isArray(value)) return `{${value.map(toLua).join(", ")}}`;
  if (typeof value === "object") {
    const fields = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `[${luaString(k)}] = ${toLua(v)}`);
    return `{${fields.join(", ")}}`;
  }
  throw new Error(`cannot pass a ${typeof value} to Lua`);
}

// Argo CD's VM has no io or os: the script runs with only the base functions and the string, table
// and math libraries in its environment, so a script that reached for more would fail here too.
const harness = (obj: unknown, script: string) => `
local chunk = assert(loadfile(${luaString(script)}))
local env = {
  obj = ${toLua(obj)},
  ipairs = ipairs, pairs = pairs, next = next, type = type, tostring = tostring, tonumber = tonumber,
  select = select, unpack = unpack, error = error, pcall = pcall, assert = assert,
  string = string, table = table, math = math,
}
setfenv(chunk, env)
local hs = chunk()
assert(type(hs) == "table", "the script must return a table")
io.write(tostring(hs.status), "\\n", tostring(hs.message))
`;

/** Runs the health script on `obj` with `lua5.1`; rejects with Lua's stderr when it fails. */
export async function runHealthCheck(obj: unknown, script = healthScript): Promise<HealthStatus> {
  const stdout = await runLua(harness(obj, script));
  const newline = stdout.indexOf("\n");
  return { status: stdout.slice(0, newline), message: stdout.slice(newline + 1) };
}

/** The resource actions' scripts (deploy/argocd/actions): discovery.lua and one per action. */
export const actionsDir = join(import.meta.dirname, "..", "..", "deploy", "argocd", "actions");

// Lua values back to JSON, so a test reads what a script returned. A table whose keys are 1..n is
// an array, any other table an object (an empty one too).
const jsonEncoder = `
local function encode(v)
  local t = type(v)
  if t == "nil" then return "null" end
  if t == "boolean" then return tostring(v) end
  if t == "number" then return string.format("%.17g", v) end
  if t == "string" then
    return '"' .. string.gsub(v, '[%c"\\\\]', function(c) return string.format("\\\\u%04x", string.byte(c)) end) .. '"'
  end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  if n > 0 and n == #v then
    local items = {}
    for _, x in ipairs(v) do table.insert(items, encode(x)) end
    return "[" .. table.concat(items, ",") .. "]"
  end
  local keys = {}
  for k in pairs(v) do table.insert(keys, tostring(k)) end
  table.sort(keys)
  local fields = {}
  for _, k in ipairs(keys) do table.insert(fields, encode(k) .. ":" .. encode(v[k])) end
  return "{" .. table.concat(fields, ",") .. "}"
end
`;

// Argo CD's action VM has what its built-in actions use besides the base functions: a restricted os
// module with date and time only, reached through require("os") (there is no global os: the
// restart action starts with `local os = require("os")`). Nothing else of os, and no io.
const actionHarness = (obj: unknown, script: string) => `
${jsonEncoder}
local chunk = assert(loadfile(${luaString(script)}))
local env = {
  obj = ${toLua(obj)},
  ipairs = ipairs, pairs = pairs, next = next, type = type, tostring = tostring, tonumber = tonumber,
  select = select, unpack = unpack, error = error, pcall = pcall, assert = assert,
  string = string, table = table, math = math,
  require = function(name)
    if name == "os" then return { date = os.date, time = os.time } end
    error("module " .. tostring(name) .. " is not in Argo CD's action VM")
  end,
}
setfenv(chunk, env)
local result = chunk()
assert(type(result) == "table", "the script must return a table")
io.write(encode(result))
`;

/** Runs an action script (deploy/argocd/actions/<file>) on `obj` and returns what it returned, as JSON. */
export async function runAction(obj: unknown, file: string): Promise<unknown> {
  return JSON.parse(await runLua(actionHarness(obj, join(actionsDir, file)))) as unknown;
}

/** Runs `source` in lua5.1 and resolves with its stdout; rejects with Lua's stderr when it fails. */
function runLua(source: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("lua5.1", ["-"], { stdio: ["pipe", "pipe", "pipe"], timeout: 10_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", (err) =>
      reject(new Error(`cannot run lua5.1 (run \`make lua\` to install it): ${err.message}`)),
    );
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`lua5.1 exited ${code}: ${stderr}`));
      resolve(stdout);
    });
    child.stdin.end(source);
  });
}
