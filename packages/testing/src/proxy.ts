import { connect, createServer, type Server, type Socket } from "node:net";

/** A TCP proxy on 127.0.0.1 in front of a server, to simulate outages and failovers. */
export interface TcpProxy {
  readonly port: number;
  /** Cuts every connection and refuses new ones until `restore()`: the server "goes down". */
  cut(): Promise<void>;
  restore(): Promise<void>;
  /** Points the proxy at another port, dropping open connections, as a failover moves an address. */
  switchTo(targetPort: number): void;
  /** Stops forwarding on open connections without closing them: a network partition. */
  freeze(): void;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let port = 0;
  let target = targetPort;
  let server: Server | undefined;
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(target, targetHost);
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const end = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on("error", end).on("close", end);
        upstream.on("error", end).on("close", end);
      });
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  await listen();
  return {
    get port() {
      return port;
    },
    async cut() {
      const s = server;
      server = undefined;
      dropAll();
      if (s) await new Promise((r) => s.close(r));
    },
    restore: async () => {
      if (!server) await listen();
    },
    switchTo(next) {
      target = next;
      dropAll();
    },
    freeze() {
      for (const socket of sockets) {
        socket.unpipe();
        socket.pause();
      }
    },
  };
}
