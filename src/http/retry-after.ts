/**
 * How long a server asked the client to wait, with one meaning for every boundary (DataTrails, the
 * token issuers, the Kubernetes API): `Retry-After` holds seconds or an HTTP date; DataTrails'
 * `Archivist-Rate-Limit-Reset` holds seconds or, when larger than 10^9, an epoch time in seconds.
 * When both are sent, the longer wait wins. A value that is none of these is ignored. The headers
 * are read on 429 and 503 answers only ({@link waitRequestedBy}): the statuses at which they ask the
 * client to come back later.
 */

/** One header value as a wait in milliseconds, or undefined when it is not a wait. */
export function waitFromHeaderValue(value: unknown, nowMs: number): number | undefined {
  const raw = Array.isArray(value) ? (value as unknown[])[0] : value;
  if (typeof raw !== "string") return undefined;
  const trimmed = raw.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    const n = Number(trimmed);
    // A value this large is an epoch timestamp, not a delay.
    return Math.round(n > 1e9 ? Math.max(0, n * 1000 - nowMs) : n * 1000);
  }
  // An HTTP date names its weekday and month; Date.parse alone would read "-5" as a year.
  const date = /[A-Za-z]/.test(trimmed) ? Date.parse(trimmed) : NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** The wait the response headers ask for (lower-case names), or undefined when they ask none. */
export function serverWaitMs(headers: unknown, nowMs: number): number | undefined {
  if (headers === null || typeof headers !== "object") return undefined;
  const h = headers as Record<string, unknown>;
  const waits = [h["retry-after"], h["archivist-rate-limit-reset"]]
    .map((v) => waitFromHeaderValue(v, nowMs))
    .filter((ms): ms is number => ms !== undefined);
  return waits.length > 0 ? Math.max(...waits) : undefined;
}

/** The statuses whose wait headers are honoured: Too Many Requests and Service Unavailable. */
const waitStatuses = new Set([429, 503]);

/**
 * The wait an answer asks for: its headers read as {@link serverWaitMs} does, on a 429 or 503 only
 * (on any other status they are ignored). Every HTTP boundary reads server waits through this.
 */
export function waitRequestedBy(status: number, headers: unknown, nowMs: number): number | undefined {
  return waitStatuses.has(status) ? serverWaitMs(headers, nowMs) : undefined;
}
