/**
 * The `emulator` subcommand's flags, checked once with zod and turned into startEmulator options.
 * Kept apart from the commander wiring so the rules are unit-tested.
 */
import { z } from "zod";
import type { EmulatorOptions } from "./server.ts";
import { tenantTiers } from "./state.ts";

const integer = (name: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .pipe(
      z.number().int().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`),
    );

/** The raw flag values commander hands over (strings, or true for switches). */
export const emulatorFlagsSchema = z.object({
  port: integer("--port", 0, 65535).default(0),
  host: z.string().min(1).default("127.0.0.1"),
  publicUrl: z.url({ protocol: /^https?$/, error: "--public-url must be an http(s) URL" }).optional(),
  tokenTtlSeconds: integer("--token-ttl-seconds", 1).default(3600),
  quota: integer("--quota", 0).optional(),
  accessPolicyQuota: integer("--access-policy-quota", 0).optional(),
  rateLimit: z
    .string()
    .regex(/^\d+\/\d+(\.\d+)?$/, "--rate-limit must read <requests>/<seconds>, e.g. 100/60")
    .transform((s) => {
      const [limit, seconds] = s.split("/");
      return { limit: Number(limit), windowSeconds: Number(seconds) };
    })
    .refine((r) => r.limit > 0 && r.windowSeconds > 0, "--rate-limit needs positive numbers")
    .optional(),
  tier: z.enum(tenantTiers, { error: "--tier must be FREE, PREMIUM or READONLY" }).default("FREE"),
  truncateUnpagedLists: integer("--truncate-unpaged-lists", 1).optional(),
  seedAssets: z.boolean().default(false),
  /** PEM file of CA certificates to trust when fetching a federated issuer's discovery and JWKS. */
  azureFederationCaFile: z.string().min(1).optional(),
  json: z.boolean().default(false),
});

/** The flags after parsing. */
export type EmulatorFlags = z.output<typeof emulatorFlagsSchema>;

/** Parses the flags, or returns the problems as one readable message. */
export function parseEmulatorFlags(
  raw: Record<string, unknown>,
): { ok: true; flags: EmulatorFlags } | { ok: false; message: string } {
  const result = emulatorFlagsSchema.safeParse(raw);
  if (result.success) return { ok: true, flags: result.data };
  return { ok: false, message: result.error.issues.map((i) => i.message).join("; ") };
}

/**
 * The startEmulator options the flags stand for; `readFile` reads --azure-federation-ca-file (the
 * only flag that names a file).
 */
export function emulatorOptionsFromFlags(
  flags: EmulatorFlags,
  readFile: (path: string) => string = () => "",
): EmulatorOptions {
  const options: EmulatorOptions = {
    host: flags.host,
    port: flags.port,
    tokenTtlSeconds: flags.tokenTtlSeconds,
    applicationQuota: flags.quota ?? null,
    accessPolicyQuota: flags.accessPolicyQuota ?? null,
    rateLimit: flags.rateLimit ?? null,
    tier: flags.tier,
    seedAssets: flags.seedAssets,
  };
  if (flags.truncateUnpagedLists !== undefined) options.truncateUnpagedLists = flags.truncateUnpagedLists;
  if (flags.publicUrl !== undefined) options.publicUrl = flags.publicUrl;
  if (flags.azureFederationCaFile !== undefined) {
    options.azure = { federationCaCertificates: [readFile(flags.azureFederationCaFile)] };
  }
  return options;
}
