import { describe, expect, it } from "vitest";
import { configOptions, envName, type ConfigKey } from "../config.ts";
import { runCommand } from "./run.ts";

describe("run --help", () => {
  // Wide enough that no line wraps, whatever the terminal.
  const help = runCommand().configureHelp({ helpWidth: 10_000 }).helpInformation();

  it.each(Object.keys(configOptions) as ConfigKey[])("lists the flag and variable of %s", (key) => {
    expect(help).toContain(`--${configOptions[key].flag} `);
    expect(help).toContain(`(env: ${envName(key)})`);
  });

  it("lists the --no- form of the switch", () => {
    expect(help).toContain("--no-leader-election");
  });
});
