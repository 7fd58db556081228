/**
 * The operator's configuration: the only module that reads flags and environment variables, once at
 * start. Every setting is a commander Option with a flag (`--metrics-port`) and an environment
 * variable (`DATATRAILS_OPERATOR_METRICS_PORT`, declared with `.env()`); commander parses both (a
 * flag wins over the variable) and the values it found go through the zod schema, which holds the
 * defaults and units. A bad command line or an invalid value throws a {@link ConfigError} whose
 * message names each bad field (zod's pretty-printed error), and `run` exits with status 2.
 * docs/configuration.md lists every setting; a unit test keeps it in step with {@link configOptions}.
 */
import { randomBytes } from "node:crypto";
import { hostname as osHostname } from "node:os";
import { Command, CommanderError, Option } from "commander";
import { z } from "zod";
import { logLevels } from "./observability/logger.ts";

/** Prefix of every environment variable the operator reads. */
export const envPrefix = "DATATRAILS_OPERATOR_";

/** Every setting: its flag, environment variable and a one-line description (used by the docs test). */
export const configOptions = {
  metricsPort: { flag: "metrics-port", description: "Port of the /metrics endpoint (0 picks a free one)." },
  healthPort: { flag: "health-port", description: "Port of /healthz and /readyz (0 picks a free one)." },
  bindAddress: { flag: "bind-address", description: "Address the metrics and health servers listen on." },
  logLevel: {
    flag: "log-level",
    description: "Minimum log level: fatal, error, warn, info, debug, trace, silent.",
  },
  leaderElection: { flag: "leader-election", description: "Run leader election so only one replica works." },
  leaseNamespace: { flag: "lease-namespace", description: "Namespace of the leader election Lease." },
  leaseName: { flag: "lease-name", description: "Name of the leader election Lease." },
  leaseDurationMs: {
    flag: "lease-duration-ms",
    description: "How long a Lease stays valid without renewal.",
  },
  renewDeadlineMs: {
    flag: "renew-deadline-ms",
    description: "How long the leader tries to renew before it exits.",
  },
  retryPeriodMs: { flag: "retry-period-ms", description: "Pause between Lease acquire or renew attempts." },
  shards: {
    flag: "shards",
    description:
      "Split the work into this many shards, each on a Lease of its own (<lease-name>-shard-<k>); 1 is one leader.",
  },
  identity: { flag: "identity", description: "Leader election identity and Event reportingInstance." },
  watchNamespaces: {
    flag: "watch-namespaces",
    description: "Comma-separated namespaces to watch; empty means all.",
  },
  integrationConcurrency: {
    flag: "integration-concurrency",
    description: "DataTrailsIntegration reconciles that may run at once.",
  },
  tokenConcurrency: {
    flag: "token-concurrency",
    description: "BearerToken reconciles that may run at once.",
  },
  maxBackoffMs: {
    flag: "max-backoff-ms",
    description: "Cap of the per-object retry backoff (starts at 5 ms).",
  },
  dataTrailsRequestsPerSecond: {
    flag: "datatrails-requests-per-second",
    description: "Client-side rate limit of requests to DataTrails, per connection.",
  },
  dataTrailsTimeoutMs: {
    flag: "datatrails-timeout-ms",
    description: "Timeout of one request to DataTrails.",
  },
  kubeconfig: {
    flag: "kubeconfig",
    description: "Path of a kubeconfig; unset means in-cluster config (or the usual KUBECONFIG lookup).",
  },
  resyncIntervalMs: {
    flag: "resync-interval-ms",
    description: "How often each integration's application is re-read from DataTrails to repair drift.",
  },
  reloadDebounceMs: {
    flag: "reload-debounce-ms",
    description:
      "How long a workload roll (spec.reload) waits for other objects naming the same workload, to roll it once.",
  },
  faultCrashAt: {
    flag: "fault-crash-at",
    description:
      "Testing only: SIGKILL the process right after this step: an integration's action (e.g. after:CreateApplication), after:PublishToken (a BearerToken's token Secret written) or after:RollWorkload (a spec.reload workload rolled).",
  },
} as const;

/** A setting's name. */
export type ConfigKey = keyof typeof configOptions;

/** The environment variable of a setting, e.g. `DATATRAILS_OPERATOR_METRICS_PORT`. */
export function envName(key: ConfigKey): string {
  return envPrefix + configOptions[key].flag.toUpperCase().replace(/-/g, "_");
}

/** What the defaults depend on, so tests need no process globals. */
export interface ConfigContext {
  /** Default of leaseNamespace: the pod's namespace (POD_NAMESPACE) or `default`. */
  podNamespace: string;
  /** Default of identity: the pod name (POD_NAME) or host name, plus a random suffix. */
  identity: string;
}

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().min(1);
const durationMs = z.coerce.number().int().min(1);
const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a namespace name (RFC 1123 label)");
const commaList = (value: unknown) =>
  typeof value === "string"
    ? value
        .split(",")
        .map((item) => item.trim())
        .filter(Boolean)
    : value;

/** The schema, with defaults that depend on the pod's environment. */
export function configSchema(context: ConfigContext) {
  return z
    .object({
      metricsPort: port.default(8080),
      healthPort: port.default(8081),
      bindAddress: z.string().min(1).default("0.0.0.0"),
      logLevel: z.enum(logLevels).default("info"),
      leaderElection: z.stringbool().default(true),
      leaseNamespace: dnsLabel.default(context.podNamespace),
      leaseName: z
        .string()
        .regex(/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, "must be an object name (RFC 1123 subdomain)")
        .max(253)
        .default("datatrails-operator"),
      leaseDurationMs: durationMs.default(15_000),
      renewDeadlineMs: durationMs.default(10_000),
      retryPeriodMs: durationMs.default(2_000),
      shards: positiveInt.max(1024).default(1),
      identity: z.string().min(1).max(128).default(context.identity),
      watchNamespaces: z.preprocess(commaList, z.array(dnsLabel)).default([]),
      integrationConcurrency: positiveInt.default(4),
      tokenConcurrency: positiveInt.default(8),
      maxBackoffMs: durationMs.default(60_000),
      dataTrailsRequestsPerSecond: z.coerce.number().positive().default(10),
      dataTrailsTimeoutMs: durationMs.default(30_000),
      kubeconfig: z.string().min(1).optional(),
      resyncIntervalMs: durationMs.default(600_000),
      reloadDebounceMs: durationMs.default(2_000),
      faultCrashAt: z
        .string()
        .regex(/^after:[A-Za-z]+$/, "must be after:<Step>, e.g. after:CreateApplication")
        .optional(),
    })
    .superRefine((config, ctx) => {
      // renewDeadline < leaseDuration is what makes a leader stop before a successor may start.
      if (config.renewDeadlineMs >= config.leaseDurationMs) {
        ctx.addIssue({
          code: "custom",
          path: ["renewDeadlineMs"],
          message: "must be less than leaseDurationMs",
        });
      }
      // Shards are held on Leases: without election every replica would work on every shard.
      if (config.shards > 1 && !config.leaderElection) {
        ctx.addIssue({
          code: "custom",
          path: ["shards"],
          message: "more than one shard needs leader election (--leader-election)",
        });
      }
      if (config.retryPeriodMs >= config.renewDeadlineMs) {
        ctx.addIssue({
          code: "custom",
          path: ["retryPeriodMs"],
          message: "must be less than renewDeadlineMs",
        });
      }
    });
}

/** The parsed configuration. */
export type Config = z.output<ReturnType<typeof configSchema>>;

/** Thrown when flags or environment variables are invalid; the message names each bad field. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "InvalidConfig" as const;
  readonly retryable = false;
}

/** What {@link parseConfig} reads. */
export interface ConfigInput {
  /** Command-line arguments after the command, e.g. `process.argv.slice(2)`. */
  argv: readonly string[];
  /** Environment variables, e.g. `process.env`. */
  env: Readonly<Record<string, string | undefined>>;
  /** Host name for the default identity; default os.hostname(). */
  hostname?: string;
  /** Random suffix for the default identity; default 8 random hex digits. */
  randomSuffix?: string;
}

const booleanKeys = new Set<ConfigKey>(["leaderElection"]);

/**
 * The commander Options of every setting, each with its environment variable. A switch
 * (`--leader-election`) takes an optional value (`--leader-election=false`) and has a `--no-` form.
 */
function configCommandOptions(): { key: ConfigKey; option: Option }[] {
  return (Object.keys(configOptions) as ConfigKey[]).flatMap((key) => {
    const { flag, description } = configOptions[key];
    if (!booleanKeys.has(key))
      return [{ key, option: new Option(`--${flag} <value>`, description).env(envName(key)) }];
    return [
      { key, option: new Option(`--${flag} [bool]`, description).env(envName(key)) },
      { key, option: new Option(`--no-${flag}`, `Turn off --${flag}.`) },
    ];
  });
}

/**
 * Adds every setting's Option to `command` (the `run` subcommand, or the one parseConfig builds):
 * `--help` then lists them all. Commander's own errors are thrown, not printed, so that
 * {@link commandLineError} can word them and the caller exit with status 2.
 */
export function addConfigOptions(command: Command): Command {
  for (const { option } of configCommandOptions()) command.addOption(option);
  return (
    command
      // Stray arguments are not commander's to refuse: configFromCommand names them all at once.
      .allowExcessArguments(true)
      .exitOverride()
      .configureOutput({ writeErr: () => undefined, outputError: () => undefined })
  );
}

/** The ConfigError a commander parse error stands for. */
export function commandLineError(err: CommanderError): ConfigError {
  const flag = /'(-[^' ]+)/.exec(err.message)?.[1]?.replace(/=.*$/s, "") ?? "";
  const problem =
    err.code === "commander.unknownOption"
      ? `unknown flag ${flag}`
      : err.code === "commander.optionMissingArgument"
        ? `flag ${flag} needs a value`
        : err.message.replace(/^error: /, "");
  return new ConfigError(`invalid command line:\n✖ ${problem}`);
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value !== null && typeof value === "object") {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/**
 * The Config from a command commander has parsed (see {@link addConfigOptions}): the values it found
 * on the command line and in the environment, through the zod schema. Throws ConfigError.
 */
export function configFromCommand(command: Command, input: Omit<ConfigInput, "argv">): Readonly<Config> {
  const { env } = input;
  const fromEnv = (name: string) => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  if (command.args.length > 0) {
    const problems = command.args.map((arg) => `✖ unexpected argument ${JSON.stringify(arg)}`);
    throw new ConfigError(`invalid command line:\n${problems.join("\n")}`);
  }
  const raw: Record<string, string> = {};
  // A value is a string, or a boolean for a bare switch or its --no- form.
  const values = command.opts<Record<string, string | boolean | undefined>>();
  for (const { key, option } of configCommandOptions()) {
    const name = option.attributeName();
    const value = values[name];
    if (value === undefined) continue;
    const source = command.getOptionValueSource(name);
    // An empty variable counts as unset, as it always has; a flag's value is taken as given.
    const text = source === "env" ? String(value).trim() : String(value);
    if (source === "env" && text === "") continue;
    raw[key] = text;
  }

  const base = fromEnv("POD_NAME") ?? input.hostname ?? osHostname();
  const context: ConfigContext = {
    podNamespace: fromEnv("POD_NAMESPACE") ?? "default",
    identity: `${base}_${input.randomSuffix ?? randomBytes(4).toString("hex")}`,
  };
  const result = configSchema(context).safeParse(raw);
  if (!result.success) {
    const fields = [...new Set(result.error.issues.map((issue) => String(issue.path[0] ?? "")))].filter(
      (key): key is ConfigKey => key in configOptions,
    );
    const hints = fields.map((key) => `  ${key}: --${configOptions[key].flag} or ${envName(key)}`);
    throw new ConfigError(
      `invalid configuration:\n${z.prettifyError(result.error)}\nset with:\n${hints.join("\n")}`,
    );
  }
  return deepFreeze(result.data);
}

/**
 * Parses `argv` and `env` with the same commander Options as `run`: flags over environment variables
 * over defaults. Returns a deep-frozen Config or throws ConfigError.
 */
export function parseConfig(input: ConfigInput): Readonly<Config> {
  const command = addConfigOptions(new Command("run"));
  // The variables come from `input.env`, given to commander as environment values; commander reads
  // the process environment the same way, so `run` (whose input.env is process.env) sees the same.
  for (const { option } of configCommandOptions()) {
    const value = option.envVar === undefined ? undefined : input.env[option.envVar];
    if (value !== undefined) command.setOptionValueWithSource(option.attributeName(), value, "env");
  }
  try {
    command.parse([...input.argv], { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) throw commandLineError(err);
    throw err;
  }
  return configFromCommand(command, input);
}
