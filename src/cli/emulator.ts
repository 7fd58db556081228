/**
 * `emulator`: runs the DataTrails emulator until SIGINT/SIGTERM. At start it prints its URL and the
 * seeded OWNER integration's client_id and client_secret: the emulator's own test admin
 * credential, shown once as the DataTrails UI shows a new integration's secret. This is the one
 * place the project prints a secret on purpose.
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { emulatorOptionsFromFlags, parseEmulatorFlags } from "../emulator/cli-options.ts";
import { adminPrefix, startEmulator } from "../emulator/index.ts";

/** Builds the `emulator` subcommand. */
export function emulatorCommand(): Command {
  const command = new Command("emulator")
    .description("run the DataTrails emulator (App Registrations, token endpoint, assets) until Ctrl-C")
    .option("--port <n>", "port to listen on (0 picks a free one)", "0")
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option("--public-url <url>", "base URL clients use, if not http://<host>:<port> (issuer and audience)")
    .option("--token-ttl-seconds <n>", "expires_in of issued tokens", "3600")
    .option("--quota <n>", "how many applications the tenant may hold, the seeded admin included")
    .option("--access-policy-quota <n>", "how many access policies the tenant may hold")
    .option("--rate-limit <requests/seconds>", "fixed-window rate limit, e.g. 100/60 (429 beyond it)")
    .option("--tier <tier>", "the tenant tier in tokens (FREE, PREMIUM or READONLY)", "FREE")
    .option(
      "--truncate-unpaged-lists <n>",
      "answer lists sent without page_size with their first n items and no next page token",
    )
    .option("--seed-assets", "seed a few assets (traffic lights and others)", false)
    .option(
      "--azure-federation-ca-file <path>",
      "PEM CA certificates to trust (besides the system's) when Azure AD fetches a federated issuer's keys",
    )
    .option("--json", "print the start-up details as one JSON line instead of text", false);

  return command.action(async (raw: Record<string, unknown>) => {
    const parsed = parseEmulatorFlags(raw);
    if (!parsed.ok) command.error(`error: ${parsed.message}`, { exitCode: 2 });
    else {
      const emulator = await startEmulator(
        emulatorOptionsFromFlags(parsed.flags, (path) => readFileSync(path, "utf8")),
      );
      const details = {
        url: emulator.url,
        publicUrl: emulator.publicUrl,
        tokenUrl: `${emulator.publicUrl}/archivist/iam/v1/appidp/token`,
        clientId: emulator.admin.clientId,
        clientSecret: emulator.admin.clientSecret,
        adminApi: `${emulator.url}${adminPrefix}`,
        azureTokenUrlV1: emulator.control.azure.endpoints().tokenUrlV1,
        azureTokenUrlV2: emulator.control.azure.endpoints().tokenUrlV2,
        jwtBearerTokenUrl: emulator.control.federated.endpoints().tokenUrl,
      };
      // Listen for the stop signals before announcing "Ctrl-C stops it": a signal sent the moment
      // the announcement is read must find the handler in place, not the default that kills.
      const stopped = new Promise<NodeJS.Signals>((done) => {
        process.once("SIGINT", done);
        process.once("SIGTERM", done);
      });
      process.stdout.write(
        parsed.flags.json
          ? `${JSON.stringify(details)}\n`
          : [
              `DataTrails emulator listening on ${details.url}`,
              `  token endpoint:      ${details.tokenUrl}`,
              `  admin client_id:     ${details.clientId}`,
              `  admin client_secret: ${details.clientSecret}`,
              `  emulator admin API:  ${details.adminApi}/state`,
              `  Azure AD v1 / v2:    ${details.azureTokenUrlV1}  ${details.azureTokenUrlV2}`,
              `    (app registrations: POST ${details.adminApi}/azure/clients)`,
              `  JWT-bearer grant:    ${details.jwtBearerTokenUrl}`,
              `    (register a client's public key: POST ${details.adminApi}/federated/clients)`,
              "Ctrl-C stops it.",
              "",
            ].join("\n"),
      );
      const signal = await stopped;
      if (!parsed.flags.json) process.stdout.write(`${signal}: stopping\n`);
      await emulator.close();
    }
  });
}
