import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type Socket } from "node:net";

/** A free TCP port on 127.0.0.1, chosen by the OS. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

// The reaper is a detached process reading PIDs on stdin; when this process dies in any way its
// stdin closes and it kills every PID it was given, so no server outlives the test run.
const REAPER = `
const pids = new Set();
let buf = "";
process.stdin.on("data", (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf("\\n")) >= 0) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    const n = Number(line.slice(1));
    if (line[0] === "+") pids.add(n); else pids.delete(n);
  }
});
process.stdin.on("end", () => {
  for (const pid of pids) { try { process.kill(pid, "SIGKILL"); } catch {} }
  process.exit(0);
});
`;

let reaper: ChildProcess | undefined;

function reaperStdin() {
  if (!reaper) {
    reaper = spawn(process.execPath, ["-e", REAPER], { detached: true, stdio: ["pipe", "ignore", "ignore"] });
    reaper.unref();
    (reaper.stdin as Socket).unref();
  }
  return reaper.stdin as Socket;
}

/** Registers a child so that it is killed when this process ends, however it ends. */
export function reapOnExit(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return;
  const stdin = reaperStdin();
  stdin.write(`+${pid}\n`);
  child.once("exit", () => {
    if (!stdin.destroyed) stdin.write(`-${pid}\n`);
  });
}

/** Resolves once `child` has exited (immediately if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Polls `probe` until it resolves truthy or `timeoutMs` passes. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
