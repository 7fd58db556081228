import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, configOptions, envName, parseConfig, type Config, type ConfigInput } from "./config.ts";

const parse = (over: Partial<ConfigInput> = {}) =>
  parseConfig({ argv: [], env: {}, hostname: "host-1", randomSuffix: "abcd1234", ...over });

const defaults: Config = {
  metricsPort: 8080,
  healthPort: 8081,
  bindAddress: "0.0.0.0",
  logLevel: "info",
  leaderElection: true,
  leaseNamespace: "default",
  leaseName: "datatrails-operator",
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  shards: 1,
  identity: "host-1_abcd1234",
  watchNamespaces: [],
  integrationConcurrency: 4,
  tokenConcurrency: 8,
  maxBackoffMs: 60_000,
  dataTrailsRequestsPerSecond: 10,
  dataTrailsTimeoutMs: 30_000,
  resyncIntervalMs: 600_000,
  reloadDebounceMs: 2_000,
};

describe("parseConfig", () => {
  it("has the documented defaults", () => {
    expect(parse()).toEqual(defaults);
  });

  it.each<{ name: string; input: Partial<ConfigInput>; expected: Partial<Config> }>([
    {
      name: "a port from a flag",
      input: { argv: ["--metrics-port", "9090"] },
      expected: { metricsPort: 9090 },
    },
    { name: "a port from a flag with =", input: { argv: ["--health-port=0"] }, expected: { healthPort: 0 } },
    {
      name: "a port from the environment",
      input: { env: { DATATRAILS_OPERATOR_METRICS_PORT: "9091" } },
      expected: { metricsPort: 9091 },
    },
    { name: "the log level", input: { argv: ["--log-level=debug"] }, expected: { logLevel: "debug" } },
    {
      name: "--no-leader-election",
      input: { argv: ["--no-leader-election"] },
      expected: { leaderElection: false },
    },
    {
      name: "--leader-election=false",
      input: { argv: ["--leader-election=false"] },
      expected: { leaderElection: false },
    },
    {
      name: "leader election off by variable",
      input: { env: { DATATRAILS_OPERATOR_LEADER_ELECTION: "0" } },
      expected: { leaderElection: false },
    },
    {
      name: "a bare boolean flag",
      input: { argv: ["--leader-election"], env: { DATATRAILS_OPERATOR_LEADER_ELECTION: "no" } },
      expected: { leaderElection: true },
    },
    {
      name: "lease namespace from POD_NAMESPACE",
      input: { env: { POD_NAMESPACE: "operators" } },
      expected: { leaseNamespace: "operators" },
    },
    {
      name: "identity from POD_NAME",
      input: { env: { POD_NAME: "op-7d9f-x2" } },
      expected: { identity: "op-7d9f-x2_abcd1234" },
    },
    { name: "an explicit identity", input: { argv: ["--identity", "me"] }, expected: { identity: "me" } },
    {
      name: "lease timings",
      input: { argv: ["--lease-duration-ms=1500", "--renew-deadline-ms=1000", "--retry-period-ms=200"] },
      expected: { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200 },
    },
    { name: "shards", input: { argv: ["--shards=3"] }, expected: { shards: 3 } },
    {
      name: "watched namespaces",
      input: { argv: ["--watch-namespaces", " team-a, team-b ,,"] },
      expected: { watchNamespaces: ["team-a", "team-b"] },
    },
    {
      name: "concurrency",
      input: { env: { DATATRAILS_OPERATOR_TOKEN_CONCURRENCY: "16" } },
      expected: { tokenConcurrency: 16 },
    },
    {
      name: "a fractional rate",
      input: { argv: ["--datatrails-requests-per-second=0.5"] },
      expected: { dataTrailsRequestsPerSecond: 0.5 },
    },
    {
      name: "a kubeconfig",
      input: { env: { DATATRAILS_OPERATOR_KUBECONFIG: "/tmp/kc" } },
      expected: { kubeconfig: "/tmp/kc" },
    },
    {
      name: "an empty variable counts as unset",
      input: { env: { DATATRAILS_OPERATOR_METRICS_PORT: "" } },
      expected: {},
    },
  ])("reads $name", ({ input, expected }) => {
    expect(parse(input)).toEqual({ ...defaults, ...expected });
  });

  it.each([
    {
      name: "flag over variable",
      argv: ["--metrics-port=1"],
      env: { DATATRAILS_OPERATOR_METRICS_PORT: "2" },
      expected: 1,
    },
    { name: "variable over default", argv: [], env: { DATATRAILS_OPERATOR_METRICS_PORT: "2" }, expected: 2 },
    {
      name: "the last flag when repeated",
      argv: ["--metrics-port=1", "--metrics-port=3"],
      env: {},
      expected: 3,
    },
  ])("takes $name", ({ argv, env, expected }) => {
    expect(parse({ argv, env }).metricsPort).toBe(expected);
  });

  it.each([
    { name: "a non-numeric port", input: { argv: ["--metrics-port=http"] }, field: "metricsPort" },
    {
      name: "a port out of range",
      input: { env: { DATATRAILS_OPERATOR_HEALTH_PORT: "70000" } },
      field: "healthPort",
    },
    { name: "a fractional port", input: { argv: ["--metrics-port=80.5"] }, field: "metricsPort" },
    { name: "an unknown log level", input: { argv: ["--log-level=loud"] }, field: "logLevel" },
    {
      name: "a non-boolean",
      input: { env: { DATATRAILS_OPERATOR_LEADER_ELECTION: "maybe" } },
      field: "leaderElection",
    },
    {
      name: "a bad lease namespace",
      input: { argv: ["--lease-namespace=Not_A_Namespace"] },
      field: "leaseNamespace",
    },
    { name: "a bad lease name", input: { argv: ["--lease-name=-x"] }, field: "leaseName" },
    { name: "a zero duration", input: { argv: ["--lease-duration-ms=0"] }, field: "leaseDurationMs" },
    {
      name: "renew deadline ≥ lease duration",
      input: { argv: ["--renew-deadline-ms=15000"] },
      field: "renewDeadlineMs",
    },
    {
      name: "retry period ≥ renew deadline",
      input: { argv: ["--retry-period-ms=10000"] },
      field: "retryPeriodMs",
    },
    { name: "zero shards", input: { argv: ["--shards=0"] }, field: "shards" },
    {
      name: "shards without leader election",
      input: { argv: ["--shards=3", "--no-leader-election"] },
      field: "shards",
    },
    {
      name: "a bad namespace in the list",
      input: { argv: ["--watch-namespaces=ok,BAD"] },
      field: "watchNamespaces",
    },
    {
      name: "zero concurrency",
      input: { argv: ["--integration-concurrency=0"] },
      field: "integrationConcurrency",
    },
    { name: "a negative backoff cap", input: { argv: ["--max-backoff-ms=-1"] }, field: "maxBackoffMs" },
    {
      name: "a zero rate",
      input: { argv: ["--datatrails-requests-per-second=0"] },
      field: "dataTrailsRequestsPerSecond",
    },
    {
      name: "a timeout with a unit",
      input: { argv: ["--datatrails-timeout-ms=30s"] },
      field: "dataTrailsTimeoutMs",
    },
  ])("refuses $name, naming the field and how to set it", ({ input, field }) => {
    expect(() => parse(input)).toThrow(ConfigError);
    try {
      parse(input);
    } catch (err) {
      const message = (err as ConfigError).message;
      expect(message).toContain(`→ at ${field}`);
      expect(message).toContain(envName(field as keyof typeof configOptions));
      expect((err as ConfigError).code).toBe("InvalidConfig");
    }
  });

  it.each([
    { name: "an unknown flag", argv: ["--metric-port=1"], message: "unknown flag --metric-port" },
    { name: "a positional argument", argv: ["run"], message: 'unexpected argument "run"' },
    {
      name: "a flag without its value",
      argv: ["--metrics-port"],
      message: "flag --metrics-port needs a value",
    },
  ])("refuses $name", ({ argv, message }) => {
    expect(() => parse({ argv })).toThrow(message);
  });

  it("names every bad field at once", () => {
    expect(() => parse({ argv: ["--metrics-port=x", "--log-level=x"] })).toThrow(
      /metricsPort[\s\S]*logLevel|logLevel[\s\S]*metricsPort/,
    );
  });

  it("returns a deep-frozen object", () => {
    const config = parse({ argv: ["--watch-namespaces=a,b"] });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.watchNamespaces)).toBe(true);
    expect(() => config.watchNamespaces.push("c")).toThrow(TypeError);
  });

  it("makes a different identity suffix per process by default", () => {
    const a = parseConfig({ argv: [], env: { POD_NAME: "p" } }).identity;
    const b = parseConfig({ argv: [], env: { POD_NAME: "p" } }).identity;
    expect(a).toMatch(/^p_[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
  });
});

describe("docs/configuration.md", () => {
  const doc = readFileSync(join(import.meta.dirname, "..", "docs", "configuration.md"), "utf8");
  const rows = [...doc.matchAll(/^\|\s*`--([a-z0-9-]+)`\s*\|\s*`(\w+)`\s*\|\s*(.*?)\s*\|/gm)].map((m) => ({
    flag: m[1],
    env: m[2],
    defaultCell: m[3] ?? "",
  }));

  it("lists every flag with its environment variable, and nothing else", () => {
    const expected = (Object.keys(configOptions) as (keyof typeof configOptions)[]).map((key) => ({
      flag: configOptions[key].flag,
      env: envName(key),
    }));
    const sortByFlag = (list: { flag: string | undefined; env: string | undefined }[]) =>
      [...list].sort((a, b) => String(a.flag).localeCompare(String(b.flag)));
    expect(sortByFlag(rows.map(({ flag, env }) => ({ flag, env })))).toEqual(sortByFlag(expected));
  });

  it("states the fixed defaults the schema has", () => {
    for (const [key, option] of Object.entries(configOptions)) {
      const value = defaults[key as keyof Config];
      if (
        typeof value !== "number" &&
        typeof value !== "boolean" &&
        key !== "logLevel" &&
        key !== "leaseName"
      )
        continue;
      const row = rows.find((r) => r.flag === option.flag);
      expect({ key, cell: row?.defaultCell }).toEqual({ key, cell: `\`${String(value)}\`` });
    }
  });
});
