import net from 'node:net';

/**
 * A TCP proxy in front of a real server that can turn the connections it
 * carries into black holes: bytes still accepted on both sides, none
 * delivered, no reset, no FIN. What a dropped NAT flow, a failed-over
 * address or a frozen server looks like to a client; only a timeout of the
 * client's own can tell it from a slow answer. Connections opened after
 * `blackHoleOpenConnections()` are carried as usual.
 */
export interface BlackHoleProxy {
  /** `127.0.0.1:<port>` of the proxy. */
  readonly host: string;
  readonly port: number;
  /** From now on, every connection open at this moment delivers nothing, either way. */
  blackHoleOpenConnections(): void;
  /** Connections the proxy has accepted so far. */
  readonly accepted: () => number;
  close(): Promise<void>;
}

export async function startBlackHoleProxy(upstream: { readonly host: string; readonly port: number }): Promise<BlackHoleProxy> {
  const pairs = new Set<{ client: net.Socket; server: net.Socket; holed: boolean }>();
  let accepted = 0;
  const proxy = net.createServer((client) => {
    accepted++;
    const server = net.connect(upstream.port, upstream.host);
    const pair = { client, server, holed: false };
    pairs.add(pair);
    client.on('data', (chunk) => {
      if (!pair.holed) server.write(chunk);
    });
    server.on('data', (chunk) => {
      if (!pair.holed) client.write(chunk);
    });
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    // A black hole passes no FIN or reset to the client either. When the client gives up, its server side is
    // closed, so that the server's session ends as it would once it noticed: a drill leaves no session behind.
    client.on('close', () => (pair.holed ? server.destroy() : end()));
    server.on('close', () => (pair.holed ? undefined : end()));
    client.on('error', () => undefined);
    server.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as net.AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    blackHoleOpenConnections: () => {
      for (const pair of pairs) pair.holed = true;
    },
    accepted: () => accepted,
    close: async () => {
      for (const { client, server } of pairs) {
        client.destroy();
        server.destroy();
      }
      pairs.clear();
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}
