/**
 * What every chaos scenario shares: the scale (short in CI, `CHAOS_SCALE=long` for the published
 * figures), a seeded random source (`CHAOS_SEED` replays a run), one stable figures line per
 * scenario, and a request-rate sampler over the emulator's counters.
 *
 * The figures line is `CHAOS <scenario> scale=<short|long> seed=<n> key=value ...`, printed to the
 * console and, when `CHAOS_FIGURES_FILE` is set, appended to that file (docs/reliability.md quotes it).
 */
import { appendFileSync } from "node:fs";
import { inject } from "vitest";
import { ownerClaimName } from "../../src/api/v1alpha1/index.ts";
import { sha256Hex, type ApplicationSnapshot, type RunningEmulator } from "../../src/emulator/index.ts";
import { tokenStatus } from "../crash/support.ts";
import { kubectlOk } from "../support/kubectl.ts";

/** short (CI) or long (the published run). */
export type ChaosScale = "short" | "long";

/** The scale this run uses, from CHAOS_SCALE (anything but "long" is short). */
export const chaosScale: ChaosScale = process.env["CHAOS_SCALE"] === "long" ? "long" : "short";

/** Picks the short or the long value. */
export function byScale<T>(short: T, long: T): T {
  return chaosScale === "long" ? long : short;
}

/** The seed: CHAOS_SEED when set (to replay a run), else a fresh one. */
export function chaosSeed(): number {
  const given = process.env["CHAOS_SEED"];
  if (given !== undefined && given !== "") {
    const seed = Number(given);
    if (!Number.isSafeInteger(seed)) throw new Error(`CHAOS_SEED must be an integer, not ${given}`);
    return seed;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence. */
export function seededRandom(seed: number): { next(): number; int(min: number, max: number): number } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (min, max) => min + Math.floor(next() * (max - min + 1)) };
}

/** Prints (and records) the figures line of one scenario. */
export function reportFigures(
  scenario: string,
  seed: number | undefined,
  figures: Record<string, string | number | boolean>,
): string {
  const parts = [`CHAOS ${scenario}`, `scale=${chaosScale}`];
  if (seed !== undefined) parts.push(`seed=${seed}`);
  for (const [k, v] of Object.entries(figures)) parts.push(`${k}=${v}`);
  const line = parts.join(" ");
  console.log(line);
  const file = process.env["CHAOS_FIGURES_FILE"];
  if (file !== undefined && file !== "") appendFileSync(file, `${line}\n`);
  return line;
}

/** Sum of every request counter of an emulator. */
export function totalRequests(emulator: RunningEmulator): number {
  return Object.values(emulator.control.counters()).reduce((sum, n) => sum + n, 0);
}

/** Requests per second at the emulator, sampled each second while it runs. */
export interface RateSampler {
  /** Stops sampling; returns the per-second counts seen. */
  stop(): number[];
}

/** Counts the emulator's requests in each whole second from now until stop(). */
export function sampleRequestRate(emulator: RunningEmulator): RateSampler {
  const counts: number[] = [];
  let last = totalRequests(emulator);
  const timer = setInterval(() => {
    const now = totalRequests(emulator);
    counts.push(now - last);
    last = now;
  }, 1000);
  return {
    stop() {
      clearInterval(timer);
      return counts;
    },
  };
}

/** The largest value, 0 for none. */
export function peak(values: readonly number[]): number {
  return values.reduce((m, v) => Math.max(m, v), 0);
}

interface IntegrationItem {
  metadata: { name: string; uid: string };
  status?: { applicationIdentity?: string };
}

/** What a storm left behind in one namespace; every count but the lists must be 0. */
export interface Damage {
  items: IntegrationItem[];
  apps: ApplicationSnapshot[];
  /** Integrations whose credentials Secret gets no token (HTTP 200) at the token endpoint. */
  lost: number;
  /** Applications of this emulator with the ownership claim of no integration in any namespace. */
  orphans: number;
  /** Integrations with more than one application, by claim or by display name (= object name). */
  duplicates: number;
  /** Integrations whose Secret or status does not name their one application and its current secret. */
  mismatched: number;
}

/** Counts lost secrets, orphans, duplicates and mismatches for the integrations in `namespace`. */
export async function countDamage(
  emulator: RunningEmulator,
  namespace: string,
  kubeconfigPath: string = inject("kubeconfigPath"),
): Promise<Damage> {
  const get = async <T>(kind: string) =>
    (
      JSON.parse(
        await kubectlOk(["get", kind, "-n", namespace, "-o", "json"], undefined, kubeconfigPath),
      ) as { items: T[] }
    ).items;
  const items = await get<IntegrationItem>("datatrailsintegrations");
  // An application is an orphan only when no integration in any namespace claims it.
  const everywhere = JSON.parse(
    await kubectlOk(["get", "datatrailsintegrations", "-A", "-o", "json"], undefined, kubeconfigPath),
  ) as { items: IntegrationItem[] };
  const secrets = await get<{ metadata: { name: string }; data?: Record<string, string> }>("secrets");
  const secretByName = new Map(secrets.map((s) => [s.metadata.name, s]));
  const uids = new Set(everywhere.items.map((i) => i.metadata.uid));
  const apps = emulator.control.applications();
  const damage: Damage = { items, apps, lost: 0, orphans: 0, duplicates: 0, mismatched: 0 };
  for (const item of items) {
    const owned = apps.filter((a) => a.customClaims[ownerClaimName] === item.metadata.uid);
    const named = apps.filter((a) => a.displayName === item.metadata.name);
    if (owned.length > 1 || named.length > 1) damage.duplicates++;
    const data = secretByName.get(`${item.metadata.name}-credentials`)?.data ?? {};
    const clientId = Buffer.from(data["client_id"] ?? "", "base64").toString();
    const clientSecret = Buffer.from(data["client_secret"] ?? "", "base64").toString();
    if ((await tokenStatus(emulator, clientId, clientSecret)) !== 200) damage.lost++;
    const app = owned[0];
    if (
      app === undefined ||
      app.clientId !== clientId ||
      app.secretSha256 !== sha256Hex(clientSecret) ||
      item.status?.applicationIdentity !== app.identity
    )
      damage.mismatched++;
  }
  damage.orphans = apps.filter((a) => {
    const owner = a.customClaims[ownerClaimName];
    return owner !== undefined && !uids.has(owner);
  }).length;
  return damage;
}
