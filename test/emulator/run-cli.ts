/**
 * Runs the `emulator` subcommand on its own (until main.ts wires it in), for cli.test.ts.
 */
import { emulatorCommand } from "../../src/cli/emulator.ts";

await emulatorCommand().parseAsync(process.argv.slice(2), { from: "user" });
