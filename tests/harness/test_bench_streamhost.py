"""bench/streamhost.py --quick still runs (docs/performance.md, "Stream host"): both holders of the
stream socket, the worker pool and teamboard-streamhost, on one stack of its own, with tiny N. It
proves the benchmark works, not a figure: every stream opened, every change reached every
listener once, both crowds left the registry, every stream of the concurrent and mixed scenarios
received each change of its board once, and the table names both modes."""

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_streamhost_bench_quick(tmp_path):
    build = os.path.abspath(os.environ.get("TB_BUILD_DIR") or os.path.join(REPO, "build"))
    if not os.path.isfile(os.path.join(build, "fcgi", "teamboard-streamhost")):
        pytest.skip("no teamboard-streamhost in %s" % build)
    out = tmp_path / "quick.json"
    r = subprocess.run([sys.executable, os.path.join(REPO, "bench", "streamhost.py"), "--quick",
                        "--build-dir", build, "--out", str(out)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=180,
                       env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    assert r.returncode == 0, r.stdout[-4000:]
    res = json.loads(out.read_text())
    assert set(res["modes"]) == {"worker", "host"}
    for mode, m in res["modes"].items():
        fan = m["runs"][0]["fanout"]["5"]
        assert (fan["opened"], fan["lost"], fan["dup"]) == (5, 0, 0), (mode, fan)
        assert fan["received"] == fan["expected"] == 5 * res["params"]["writes"], (mode, fan)
        assert fan["ans_p99_ms"] is not None and fan["write_errors"] == 0, (mode, fan)
        for proto, crowd in m["runs"][0]["crowd"].items():
            assert crowd["registered"] == 5 and crowd["registry_empty_s"] is not None, (mode, proto, crowd)
        assert m["medians"]["memory.pg_connections"] == (2 if mode == "host" else 5), (mode, m["medians"])
        for sc in ("concurrent", "mixed"):
            s = m["runs"][0][sc]
            n = res["params"][sc][mode]
            assert (s["opened"], s["live"], s["streams_missing"], s["lost"], s["dup"]) == (n, n, 0, 0, 0), (mode, sc, s)
            assert s["received"] == s["expected"] > 0 and s["write_errors"] == 0, (mode, sc, s)
    assert "worker" in r.stdout and "host" in r.stdout and "PostgreSQL connections" in r.stdout
