/**
 * `run`: the operator itself. Its flags are the commander Options of src/config.ts, each with its
 * DATATRAILS_OPERATOR_* variable; commander parses them once and the zod schema checks the values.
 * A bad command line or value exits with status 2 and a message naming the field. SIGTERM and SIGINT drain running reconciles
 * and release the leader lease; losing the lease exits at once so that no work continues.
 */
import { writeSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import { Command, CommanderError } from "commander";
import { addConfigOptions, commandLineError, ConfigError, configFromCommand } from "../config.ts";
import { createLogger } from "../observability/logger.ts";
import { createMetrics } from "../observability/metrics.ts";
import { startOperator } from "../operator.ts";

/** Builds the `run` subcommand. */
export function runCommand(): Command {
  const command = addConfigOptions(
    new Command("run")
      .description("run the operator (flags override DATATRAILS_OPERATOR_* environment variables)")
      .helpOption("-h, --help", "show the flags"),
  ).action(async (_options: unknown, cmd: Command) => {
    let config;
    try {
      config = configFromCommand(cmd, { env: process.env });
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`datatrails-operator: ${err.message}\n`);
        process.exit(2);
      }
      throw err;
    }
    const logger = createLogger({ level: config.logLevel });
    const kubeConfig = new KubeConfig();
    if (config.kubeconfig) kubeConfig.loadFromFile(config.kubeconfig);
    else kubeConfig.loadFromDefault();
    const crashAt = config.faultCrashAt;
    const operator = await startOperator({
      config,
      kubeConfig,
      logger,
      metrics: createMetrics(),
      onLostLeadership: () => {
        logger.error("lost the leader lease; exiting so that no work continues");
        process.exit(1);
      },
      ...(crashAt
        ? {
            crashPoint: (step: string) => {
              if (step === crashAt) {
                // Written synchronously: pino's asynchronous buffer dies with the process.
                writeSync(
                  2,
                  `${JSON.stringify({ level: "warn", step, msg: "fault injection: killing the process" })}\n`,
                );
                process.kill(process.pid, "SIGKILL");
              }
            },
          }
        : {}),
    });
    logger.info(
      { healthPort: operator.healthPort, metricsPort: operator.metricsPort, identity: config.identity },
      "operator started",
    );
    const shutdown = (signal: string) => {
      logger.info({ signal }, "shutting down");
      operator.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
    };
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    process.once("SIGINT", () => shutdown("SIGINT"));
  });
  return command;
}

/**
 * Ends the process for an error commander threw while parsing `run`'s command line: `--help` exits
 * 0, anything else is a usage error (status 2) worded as the config errors are. Other errors are
 * rethrown.
 */
export function exitOnCommandLineError(err: unknown): void {
  if (!(err instanceof CommanderError)) throw err;
  if (err.code === "commander.helpDisplayed" || err.code === "commander.help") process.exit(0);
  process.stderr.write(`datatrails-operator: ${commandLineError(err).message}\n`);
  process.exit(2);
}
