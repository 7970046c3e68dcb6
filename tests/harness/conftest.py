"""The harness's own tests (test_harness.py) and the valgrind smoke test (test_smoke.py) use the
same `server` fixture as tests/integration."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "tools"))

from tbfixture import server  # noqa: E402,F401
