"""`python3 tools/tbenv ...` (what ./dev.sh runs) and `python3 -m tbenv ...` with tools/ on the
path: the command line of tbenv.cli."""

import os
import sys

if __package__ in (None, ""):  # run as a directory: its parent holds the package (and the
    # directory itself must not be on the path: its modules are not top-level ones)
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from tbenv.cli import main  # noqa: E402

sys.exit(main())
