"""The soak's stream fleet against a stand-in server on 127.0.0.1 (no Teamboard, about a second):
a slot refused with 503 is opened again during the open phase, and the refusals are counted by
their error code (a chunked body included). Run: /usr/bin/python3 -m pytest -q tests/soak/test_fleet.py
"""

import os
import socket
import sys
import threading
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import soak  # noqa: E402

BODY = b'{"error":{"code":"too_many_streams","message":"too many open streams"}}'
REFUSAL = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
           b"Transfer-Encoding: chunked\r\nRetry-After: 10\r\n\r\n"
           + b"%x\r\n" % len(BODY) + BODY + b"\r\n0\r\n\r\n")
STREAM = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
          b"event: hello\ndata: {}\n\n")


class StandIn:
    """Accepts event-stream requests: the first `refuse` get a 503 and are closed, the rest a
    200 and a hello, and stay open until stop()."""

    def __init__(self, refuse):
        self.refuse = refuse
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.held = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping.is_set():
            try:
                c, _ = self.lsock.accept()
            except socket.timeout:
                continue
            c.settimeout(2)
            head = b""
            while b"\r\n\r\n" not in head:
                data = c.recv(4096)
                if not data:
                    break
                head += data
            if self.refuse > 0:
                self.refuse -= 1
                c.sendall(REFUSAL)
                c.close()
            else:
                c.sendall(STREAM)
                self.held.append(c)

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        for c in self.held:
            c.close()
        self.lsock.close()


def test_refused_slots_are_reopened_during_the_open_phase():
    server = StandIn(refuse=3)
    env = types.SimpleNamespace(host="127.0.0.1", port=server.port)
    slots = [(1, "t", "127.0.0.1") for _ in range(6)]
    fleet = soak.Fleet(env, slots)
    try:
        started = time.monotonic()
        took, reopens = fleet.open_all(timeout=20)
        assert fleet.open_count() == 6
        assert reopens == 3
        assert took < 5 and time.monotonic() - started < 5
        assert fleet.status == {503: 3, 200: 6}
        assert fleet.refusals == {"503 too_many_streams": 3}
    finally:
        fleet.shutdown()
        server.stop()
