/**
 * The operator's logger: pino JSON with secrets removed three ways, because one slip (a Secret
 * object, a token response, an ApiException with its body) would put a credential into a log
 * store that many people read:
 *
 * 1. pino `redact` paths for the keys that hold secrets, at the depths log objects have;
 * 2. a deep scrub of every log object (any depth, arrays too) that censors the same keys wherever they
 *    are, turns Errors into {@link serializeError} output and masks JWT- or key-shaped strings;
 * 3. the message string itself goes through {@link redactSecrets}.
 *
 * Convention: one root logger from {@link createLogger}, and `logger.child({ controller, namespace,
 * name })` per reconcile ({@link objectLogger}); errors go under `err`.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from "pino";

/** The logger type every module takes. */
export type Logger = PinoLogger;

/** Log levels, most severe first; `silent` turns logging off. */
export const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
/** A log level name. */
export type LogLevel = (typeof logLevels)[number];

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** Minimum level written; default `info`. */
  level?: LogLevel;
  /** Where lines go; default stdout. Tests pass a stream to read the output. */
  destination?: DestinationStream;
}

/** What replaces a secret value in the output. */
export const redactedValue = "[REDACTED]";

/**
 * Keys whose values are secrets wherever they appear. Matching ignores case, `_` and `-`, so
 * `client_secret`, `clientSecret` and `Client-Secret` are one entry. `data` covers Secret objects.
 */
export const secretKeys = [
  "client_secret",
  "secret",
  "access_token",
  "refresh_token",
  "id_token",
  "token",
  "bearer-token.txt",
  "assertion",
  "private_key",
  "privateKeyPem",
  "password",
  "passphrase",
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "data",
  "stringData",
  "client-key-data",
  "token-data",
] as const;

const normalise = (key: string) => key.toLowerCase().replace(/[-_]/g, "");
const secretKeySet = new Set<string>(secretKeys.map(normalise));

/** True when a property of this name holds a secret (see {@link secretKeys}). */
export function isSecretKey(key: string): boolean {
  return secretKeySet.has(normalise(key));
}

// The spellings pino's path redaction needs (it matches exactly), at the depths log objects have.
const pathSpellings = [
  "client_secret",
  "clientSecret",
  "secret",
  "access_token",
  "accessToken",
  "refresh_token",
  "refreshToken",
  "id_token",
  "token",
  "assertion",
  "privateKey",
  "private_key",
  "password",
  "authorization",
  "Authorization",
  "cookie",
  "data",
  "stringData",
];
const redactPaths = pathSpellings.flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`]);

// Three base64url segments whose first decodes to `{"`: a JWS/JWT, whatever it is called.
const jwtPattern = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
// 64 hex digits: the shape of DataTrails client secrets and of many API keys.
const hexSecretPattern = /(?<![0-9A-Fa-f])[0-9A-Fa-f]{64}(?![0-9A-Fa-f])/g;
const bearerPattern = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const formFieldPattern =
  /\b(client_secret|client_assertion|assertion|access_token|refresh_token|password)=[^&\s"']+/gi;

/** Masks anything in `text` that looks like a JWT, a 64-hex secret, a bearer credential or a secret form field. */
export function redactSecrets(text: string): string {
  return text
    .replace(jwtPattern, redactedValue)
    .replace(hexSecretPattern, redactedValue)
    .replace(bearerPattern, `$1 ${redactedValue}`)
    .replace(formFieldPattern, `$1=${redactedValue}`);
}

/** The shape errors take in log lines: no bodies, no headers, no raw responses. */
export interface SerializedError {
  type: string;
  message: string;
  stack?: string;
  code?: string | number;
  status?: number;
  reason?: string;
  operation?: string;
  retryable?: boolean;
  retryAfterMs?: number;
  cause?: SerializedError;
}

// Error properties that are safe to copy: codes and flags, never payloads.
const safeErrorFields = ["code", "status", "reason", "operation", "retryable", "retryAfterMs"] as const;
const maxCauseDepth = 3;

/**
 * Turns any thrown value into a {@link SerializedError}. ApiException from @kubernetes/client-node
 * puts the whole response body and headers into its message, so the message is cut at "Body:";
 * bodies, headers and other payload properties are never copied, and causes keep only the same fields.
 */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) {
    return { type: typeof err, message: redactSecrets(String(err).slice(0, 500)) };
  }
  const message = redactSecrets((err.message.split(/\n?Body:/)[0] ?? "").slice(0, 2000));
  const out: SerializedError = { type: err.name || err.constructor.name, message };
  if (err.stack) out.stack = redactSecrets(err.stack.split(/\n?Body:/)[0] ?? "");
  const fields = err as unknown as Record<string, unknown>;
  for (const field of safeErrorFields) {
    const value = fields[field];
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      (out as unknown as Record<string, unknown>)[field] =
        typeof value === "string" ? redactSecrets(value) : value;
    }
  }
  if (err.cause !== undefined && depth < maxCauseDepth) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

const maxScrubDepth = 10;

/** Returns a copy of `value` with secret keys censored, Errors serialized and secret-shaped strings masked. */
export function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactSecrets(value);
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Error) return serializeError(value);
  if (depth >= maxScrubDepth) return "[Truncated]";
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1));
  if (value instanceof Date) return value;
  if (ArrayBuffer.isView(value)) return redactedValue;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] =
      isSecretKey(key) && item !== undefined && item !== null ? redactedValue : scrub(item, depth + 1);
  }
  return out;
}

/** Creates the root logger: JSON lines, ISO times, secrets redacted (see the module comment). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const logger = pino(
    {
      level: options.level ?? "info",
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths, censor: redactedValue },
      serializers: { err: (err: unknown) => (err instanceof Error ? serializeError(err) : scrub(err)) },
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => scrub(bindings) as Record<string, unknown>,
        log: (object) => scrub(object) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          const cleaned = args.map((arg: unknown) => (typeof arg === "string" ? redactSecrets(arg) : arg));
          method.apply(this, cleaned as Parameters<typeof method>);
        },
      },
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
  // pino applies `formatters.bindings` to the root's bindings only; children inherit this wrapper
  // (they are made with Object.create), so every child's bindings are scrubbed too.
  type ChildFactory = (this: Logger, bindings: Record<string, unknown>, options?: object) => Logger;
  const pinoChild = Reflect.get(logger, "child") as unknown as ChildFactory;
  const scrubbingChild: ChildFactory = function (bindings, childOptions) {
    return pinoChild.call(this, scrub(bindings) as Record<string, unknown>, childOptions);
  };
  logger.child = scrubbingChild as unknown as typeof logger.child;
  return logger;
}

/** Who a log line is about: the controller and the object it reconciles. */
export interface ObjectLogContext {
  controller: string;
  namespace?: string;
  name: string;
}

/** The per-reconcile child logger convention: `logger.child({ controller, namespace, name })`. */
export function objectLogger(logger: Logger, context: ObjectLogContext): Logger {
  return logger.child(context);
}
