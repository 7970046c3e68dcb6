#!/usr/bin/python3
"""tbcount: counts test results for dev.sh. Prints "PASSED FAILED SKIPPED".

  tbcount.py junit FILE       a pytest --junitxml report; errors count as failed
  tbcount.py automake FILE    the output of `make check` (automake's "# PASS:  N" summary);
                              XFAIL counts as passed, ERROR and XPASS as failed
"""

import re
import sys
import xml.etree.ElementTree as ET


def junit(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    p = f = s = 0
    for st in suites:
        tests = int(st.get("tests", 0))
        fail = int(st.get("failures", 0)) + int(st.get("errors", 0))
        skip = int(st.get("skipped", 0))
        f += fail
        s += skip
        p += max(0, tests - fail - skip)
    return p, f, s


def automake(path):
    with open(path, errors="replace") as fh:
        text = re.sub(r"\x1b\[[0-9;]*m", "", fh.read())
    counts = {}
    for key in ("TOTAL", "PASS", "SKIP", "XFAIL", "FAIL", "XPASS", "ERROR"):
        m = re.findall(r"^# %s: +(\d+)\s*$" % key, text, re.M)
        counts[key] = int(m[-1]) if m else 0
    return (counts["PASS"] + counts["XFAIL"],
            counts["FAIL"] + counts["XPASS"] + counts["ERROR"],
            counts["SKIP"])


def main(argv):
    if len(argv) != 3 or argv[1] not in ("junit", "automake"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        p, f, s = (junit if argv[1] == "junit" else automake)(argv[2])
    except (OSError, ET.ParseError) as e:
        print("tbcount: %s" % e, file=sys.stderr)
        return 1
    print(p, f, s)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
