/**
 * The real operator binary (`node src/main.ts run`) as a child process, for tests that kill it: crash
 * points (`--fault-crash-at`), SIGKILLed leaders. Every stdout and stderr line is kept (pino JSON on
 * stdout), so a test can wait for a log line and read its time. Every process started here is
 * SIGKILLed by {@link killOperatorProcesses} (call it in afterAll) and, as a last resort, when the test
 * worker exits, so no operator outlives its test file.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { inject } from "vitest";

const repoRoot = join(import.meta.dirname, "..", "..");
const mainPath = join(repoRoot, "src", "main.ts");

/** How to start one operator process. */
export interface OperatorProcessOptions {
  /** The only namespaces it reconciles (--watch-namespaces). */
  watchNamespaces: string[];
  /** The leader election Lease; give each test file names of its own. */
  leaseName: string;
  leaseNamespace: string;
  /** Leader election is off unless asked for. */
  leaderElection?: boolean;
  /** --identity; also the Lease holder when it leads. Default: a name made from the lease and pid. */
  identity?: string;
  /** --fault-crash-at, e.g. `after:CreateApplication`: SIGKILL itself right after that step. */
  crashAt?: string;
  /** Any further flags, e.g. `--lease-duration-ms=3000`. */
  flags?: string[];
}

/** One parsed pino line. */
export interface LogLine {
  level: number;
  /** ISO 8601, with milliseconds. */
  time: string;
  msg: string;
  [key: string]: unknown;
}

/** How a process ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running (or ended) operator process. */
export interface OperatorProcess {
  pid: number;
  identity: string;
  /** Raw stdout lines, in order. */
  stdout: string[];
  /** Raw stderr lines, in order. */
  stderr: string[];
  /** The stdout lines that parsed as pino JSON. */
  logs: LogLine[];
  /** Resolves once "operator started" was logged; rejects if the process ends first. */
  started: Promise<LogLine>;
  /** Resolves once the process ended and its output was read to the end. */
  exited: Promise<ProcessExit>;
  /** Like `exited`, but rejects (with the last output) when the process is still running after `timeoutMs`. */
  exitedWithin(timeoutMs: number): Promise<ProcessExit>;
  /** The first line with this `msg`, now or when it comes; rejects after `timeoutMs` or on exit. */
  waitForLog(msg: string, timeoutMs?: number): Promise<LogLine>;
  /** The first line with this `msg` so far. */
  findLog(msg: string): LogLine | undefined;
  /** Sends a signal (default SIGKILL); a no-op once the process ended. */
  kill(signal?: NodeJS.Signals): void;
  /** SIGKILLs the process and waits until it is gone. */
  stop(): Promise<ProcessExit>;
  /** The last `n` lines of output, for failure messages (the logger redacts secrets). */
  tail(n?: number): string;
}

const running = new Set<OperatorProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A worker that dies without running afterAll must not leave operators behind.
  process.once("exit", () => {
    for (const p of running) p.kill("SIGKILL");
  });
}

function childEnv(): NodeJS.ProcessEnv {
  // Only the flags configure the child: settings from the test's environment would change what it does.
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith("DATATRAILS_OPERATOR_") && key !== "POD_NAME" && key !== "POD_NAMESPACE",
    ),
  );
}

/** Starts `node src/main.ts run` against the test cluster; await `started` before relying on it. */
export function startOperatorProcess(options: OperatorProcessOptions): OperatorProcess {
  installExitHook();
  const identity = options.identity ?? `${options.leaseName}-${process.pid}-${running.size}`;
  const args = [
    mainPath,
    "run",
    `--kubeconfig=${inject("kubeconfigPath")}`,
    "--health-port=0",
    "--metrics-port=0",
    "--bind-address=127.0.0.1",
    `--watch-namespaces=${options.watchNamespaces.join(",")}`,
    `--lease-name=${options.leaseName}`,
    `--lease-namespace=${options.leaseNamespace}`,
    `--identity=${identity}`,
    ...(options.leaderElection === true ? [] : ["--no-leader-election"]),
    ...(options.crashAt !== undefined ? [`--fault-crash-at=${options.crashAt}`] : []),
    ...(options.flags ?? []),
  ];
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: childEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });

  const stdout: string[] = [];
  const stderr: string[] = [];
  const logs: LogLine[] = [];
  const listeners = new Set<(line: LogLine) => void>();
  let ended: ProcessExit | undefined;
  const endListeners = new Set<(exit: ProcessExit) => void>();

  createInterface({ input: child.stdout }).on("line", (text) => {
    stdout.push(text);
    let line: LogLine | undefined;
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed !== null && typeof parsed === "object" && "msg" in parsed) line = parsed as LogLine;
    } catch {
      // not a log line: kept in stdout only
    }
    if (!line) return;
    logs.push(line);
    for (const listener of listeners) listener(line);
  });
  createInterface({ input: child.stderr }).on("line", (text) => stderr.push(text));

  const exited = new Promise<ProcessExit>((resolve, reject) => {
    child.once("error", reject);
    // "close" comes after stdout and stderr ended, so every line written before the end is in.
    child.once("close", (code, signal) => {
      ended = { code, signal };
      running.delete(handle);
      for (const listener of endListeners) listener(ended);
      resolve(ended);
    });
  });

  const tail = (n = 30) => [...stdout, ...stderr.map((l) => `stderr: ${l}`)].slice(-n).join("\n");
  const findLog = (msg: string) => logs.find((l) => l.msg === msg);

  const waitForLog = (msg: string, timeoutMs = 60_000): Promise<LogLine> => {
    const seen = findLog(msg);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogLine>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(onLine);
        endListeners.delete(onEnd);
      };
      const onLine = (line: LogLine) => {
        if (line.msg !== msg) return;
        cleanup();
        resolve(line);
      };
      const onEnd = (exit: ProcessExit) => {
        cleanup();
        reject(
          new Error(
            `operator ${identity} ended (code ${exit.code}, signal ${exit.signal}) before logging "${msg}":\n${tail()}`,
          ),
        );
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`operator ${identity} did not log "${msg}" within ${timeoutMs} ms:\n${tail()}`));
      }, timeoutMs);
      listeners.add(onLine);
      if (ended) onEnd(ended);
      else endListeners.add(onEnd);
    });
  };

  const exitedWithin = (timeoutMs: number): Promise<ProcessExit> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`operator ${identity} still runs after ${timeoutMs} ms:\n${tail()}`)),
        timeoutMs,
      );
    });
    return Promise.race([exited, timeout]).finally(() => clearTimeout(timer));
  };

  const kill = (signal: NodeJS.Signals = "SIGKILL") => {
    if (ended === undefined && child.exitCode === null && child.signalCode === null) child.kill(signal);
  };

  const handle: OperatorProcess = {
    pid: child.pid ?? -1,
    identity,
    stdout,
    stderr,
    logs,
    started: waitForLog("operator started"),
    exited,
    exitedWithin,
    waitForLog,
    findLog,
    kill,
    async stop() {
      kill("SIGKILL");
      return exited;
    },
    tail,
  };
  // Nobody need await `started`; a process that dies early must not become an unhandled rejection.
  handle.started.catch(() => undefined);
  exited.catch(() => undefined);
  running.add(handle);
  return handle;
}

/** SIGKILLs every operator process still running and waits until each is gone. */
export async function killOperatorProcesses(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}
