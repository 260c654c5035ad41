import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";

/** A listening HTTP server for a Hono app. */
export interface HttpServer {
  readonly port: number;
  /** Stops accepting connections and waits for in-flight requests (idle keep-alives are closed). */
  close(): Promise<void>;
}

/**
 * Answers a request on node:http directly, or calls `toApp` (once, before answering anything) to
 * leave it to the app.
 */
export type FastPath = (req: IncomingMessage, res: ServerResponse, toApp: () => void) => void;

/** Serves a Hono app on `host:port` (port 0: a free one), after an optional fast path. */
export function listen(
  app: { fetch: (request: Request) => Response | Promise<Response> },
  port: number,
  host: string,
  fast?: FastPath,
): Promise<HttpServer> {
  const toApp = getRequestListener((request) => app.fetch(request));
  const server = createServer(fast ? (req, res) => fast(req, res, () => void toApp(req, res)) : toApp);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}
