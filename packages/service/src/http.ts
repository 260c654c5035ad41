import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";

/** A listening HTTP server for a Hono app. */
export interface HttpServer {
  readonly port: number;
  /** Stops accepting connections and waits for in-flight requests (idle keep-alives are closed). */
  close(): Promise<void>;
}

/** Serves a Hono app on `host:port` (port 0: a free one). */
export function listen(
  app: { fetch: (request: Request) => Response | Promise<Response> },
  port: number,
  host: string,
): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: (request) => app.fetch(request), port, hostname: host },
      (info: AddressInfo) => {
        resolve({
          port: info.port,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
            }),
        });
      },
    );
    server.once("error", reject);
  });
}
