/**
 * Write fencing for shards. Each reconcile runs inside its object's shard (AsyncLocalStorage); every
 * write the operator sends, to Kubernetes or to DataTrails and the token issuers, first asks the gate
 * whether the shard it runs for is still safely held, and throws {@link ShardLostError} when not.
 * The gate is a comparison made at the moment of the write (shards.ts `gateIsOpen`), not a timer, so
 * a process that was paused past its lease writes nothing when it resumes. Code outside any shard (the
 * Leases themselves, start-up) is not gated.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Dispatcher } from "undici";
import type { Clock } from "./clock.ts";
import { gateIsOpen } from "./shards.ts";

/** Thrown instead of a write for a shard this replica no longer holds safely. */
export class ShardLostError extends Error {
  override readonly name = "ShardLostError";
  readonly code = "ShardLost" as const;
  readonly retryable = false;
}

/** The shard a reconcile runs for; `undefined` shard means every write is refused. */
interface ShardContext {
  shard: number | undefined;
}

/** The per-shard write gates of one replica. */
export interface ShardGate {
  /** Whether work for `shard` may write now. */
  isOpen(shard: number): boolean;
  /** A renew (or take) of `shard` that started at `startedMs` succeeded. */
  renewed(shard: number, startedMs: number): void;
  /** Shuts the gate of `shard` at once (lost, or about to be released). */
  close(shard: number): void;
  /** Runs `fn` for `shard` (undefined: refusing every write), counting it as in flight. */
  run<T>(shard: number | undefined, fn: () => Promise<T>): Promise<T>;
  /** Throws ShardLostError when the current reconcile's shard is shut; `what` names the write. */
  checkWrite(what: string): void;
  /** Resolves once no work for `shard` is in flight. */
  drained(shard: number): Promise<void>;
  /** The shard the current reconcile runs for, if any. */
  currentShard(): number | undefined;
}

/** Creates the gates; `renewDeadlineMs` is how long a renew keeps a gate open. */
export function createShardGate(clock: Clock, renewDeadlineMs: number): ShardGate {
  const storage = new AsyncLocalStorage<ShardContext>();
  const renewedAt = new Map<number, number>();
  const inFlight = new Map<number, number>();
  const waiters = new Map<number, (() => void)[]>();
  const isOpen = (shard: number) => gateIsOpen(renewedAt.get(shard), clock.now(), renewDeadlineMs);

  const settle = (shard: number) => {
    if ((inFlight.get(shard) ?? 0) > 0) return;
    for (const wake of waiters.get(shard) ?? []) wake();
    waiters.delete(shard);
  };

  return {
    isOpen,
    renewed: (shard, startedMs) => {
      renewedAt.set(shard, Math.max(startedMs, renewedAt.get(shard) ?? startedMs));
    },
    close: (shard) => {
      renewedAt.delete(shard);
    },
    async run(shard, fn) {
      if (shard === undefined) return storage.run({ shard }, fn);
      inFlight.set(shard, (inFlight.get(shard) ?? 0) + 1);
      try {
        return await storage.run({ shard }, fn);
      } finally {
        inFlight.set(shard, (inFlight.get(shard) ?? 1) - 1);
        settle(shard);
      }
    },
    checkWrite(what) {
      const context = storage.getStore();
      if (context === undefined) return;
      if (context.shard !== undefined && isOpen(context.shard)) return;
      throw new ShardLostError(
        context.shard === undefined
          ? `${what} refused: the object is in no shard this replica holds`
          : `${what} refused: shard ${context.shard} is no longer safely held by this replica`,
      );
    },
    currentShard: () => storage.getStore()?.shard,
    drained(shard) {
      if ((inFlight.get(shard) ?? 0) === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        waiters.set(shard, [...(waiters.get(shard) ?? []), resolve]);
      });
    },
  };
}

const readMethods = new Set(["GET", "HEAD", "OPTIONS"]);

/** Whether an HTTP method writes. */
export function isWriteMethod(method: string): boolean {
  return !readMethods.has(method.toUpperCase());
}

/** `dispatcher` with every request but a read first checked against the gate. */
export function gatedDispatcher(dispatcher: Dispatcher, gate: ShardGate): Dispatcher {
  return dispatcher.compose((dispatch) => (options, handler) => {
    if (isWriteMethod(options.method)) gate.checkWrite(`${options.method} to DataTrails`);
    return dispatch(options, handler);
  });
}
