// A loopback TCP proxy between Chromium and the server under test that can cut the network:
// cut() drops every open connection (event streams included: the browser's own offline switch
// does not end an open stream) and refuses new ones (accepted and reset at once) until
// restore(). The browser tests open the app through proxy.url instead of BASE; the session
// cookie is shared (cookies do not depend on the port) and the server sees the proxy's
// address in Host and Origin alike, so writes pass its origin check.
//
//   const proxy = await CutProxy.start(BASE);   // -> proxy.url "http://127.0.0.1:<port>/"
//   proxy.cut(); ...; proxy.restore(); ...; await proxy.close();
import net from "node:net";

export class CutProxy {
  static async start(target) {
    const p = new CutProxy(new URL(target));
    await new Promise((resolve, reject) => {
      p.server.once("error", reject);
      p.server.listen(0, "127.0.0.1", resolve);
    });
    p.url = `http://127.0.0.1:${p.server.address().port}/`;
    return p;
  }

  constructor(target) {
    this.target = { host: target.hostname, port: Number(target.port) || 80 };
    this.isCut = false;
    this.pairs = new Set();  // [client, upstream]
    this.server = net.createServer((client) => this.accept(client));
  }

  accept(client) {
    client.on("error", () => {});
    if (this.isCut) {
      client.resetAndDestroy ? client.resetAndDestroy() : client.destroy();
      return;
    }
    const up = net.connect(this.target);
    up.on("error", () => {});
    const pair = [client, up];
    this.pairs.add(pair);
    const end = () => {
      this.pairs.delete(pair);
      client.destroy();
      up.destroy();
    };
    client.on("close", end);
    up.on("close", end);
    client.pipe(up);
    up.pipe(client);
  }

  cut() {
    this.isCut = true;
    for (const [client, up] of [...this.pairs]) {
      client.resetAndDestroy ? client.resetAndDestroy() : client.destroy();
      up.destroy();
    }
    this.pairs.clear();
  }

  restore() {
    this.isCut = false;
  }

  get open() {
    return this.pairs.size;
  }

  async close() {
    this.cut();
    await new Promise((r) => this.server.close(() => r()));
  }
}
