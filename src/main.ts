#!/usr/bin/env node
/**
 * The command-line entry point: one binary with a subcommand per job. Each subcommand lives in
 * src/cli/ and is the composition root for what it runs.
 */
import { Command } from "commander";
import { checkTokenCommand } from "./cli/check-token.ts";
import { devCommand } from "./cli/dev.ts";
import { emulatorCommand } from "./cli/emulator.ts";
import { exitOnCommandLineError, runCommand } from "./cli/run.ts";

const program = new Command("datatrails-operator")
  .description("Keeps DataTrails integrations and OAuth2 bearer tokens in Kubernetes Secrets, declaratively.")
  .showHelpAfterError()
  .addCommand(runCommand())
  .addCommand(devCommand())
  .addCommand(emulatorCommand())
  .addCommand(checkTokenCommand());

// Only `run` throws its command-line errors (its flags are the config's, and a bad one exits 2);
// the other subcommands print theirs and exit as commander does.
await program.parseAsync(process.argv).catch(exitOnCommandLineError);
