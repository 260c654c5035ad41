#!/usr/bin/env node
// Runs the MongoDB wire-protocol test server on 127.0.0.1 until SIGTERM.
// Usage: node cli.ts [port]; prints `{"url":"mongodb://127.0.0.1:PORT/?directConnection=true"}`.
import { startMongoTestServer } from "./server.ts";

const server = await startMongoTestServer({ port: Number(process.argv[2] ?? 0) });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    void server.stop().then(() => process.exit(0));
  });
}
