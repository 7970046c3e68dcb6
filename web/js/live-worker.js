// SharedWorker: one Hub for every tab of this browser, so a board has ONE event stream however
// many tabs show it.
import { Hub } from "./hub.js";

const hub = new Hub();
const ports = new Set();

self.onconnect = (ev) => {
  const mp = ev.ports[0];
  const port = { post: (m) => mp.postMessage(m) };
  ports.add(mp);
  mp.onmessage = (m) => {
    if (m.data && m.data.op === "bye") ports.delete(mp);
    hub.handle(port, m.data);
  };
  mp.start();
  mp.postMessage({ kind: "ready" });
};

// A worker's errors show in no page's console: hand them to the tabs, which log them.
function report(what) {
  for (const mp of ports) mp.postMessage({ kind: "worker-error", message: String(what) });
}
self.addEventListener("error", (e) => report(e.message || e));
self.addEventListener("unhandledrejection", (e) => report((e.reason && (e.reason.stack || e.reason.message)) || e.reason));
