#!/usr/bin/env node
// Runs the fauxqs SQS emulator on 127.0.0.1 (its own CLI binds every interface).
// Usage: node fauxqs-server.ts [port]; prints `{"endpoint":"http://127.0.0.1:PORT"}` once listening.
import { buildApp } from "fauxqs";

const port = Number(process.argv[2] ?? 0);
const app = buildApp({ logger: false });
const address = await app.listen({ port, host: "127.0.0.1" });
process.stdout.write(`${JSON.stringify({ endpoint: address })}\n`);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    void app.close().then(() => process.exit(0));
  });
}
