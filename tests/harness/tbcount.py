#!/usr/bin/python3
"""tbcount: counts test results for dev.sh. Prints "PASSED FAILED SKIPPED".

  tbcount.py junit FILE       a pytest --junitxml report; errors count as failed
  tbcount.py junit-cases FILE any junit XML (e.g. node --test's junit reporter): each <testcase>
                              counts; with <failure> or <error> as failed, <skipped> as skipped
  tbcount.py automake FILE    the output of `make check` (automake's "# PASS:  N" summary);
                              XFAIL counts as passed, ERROR and XPASS as failed
  tbcount.py node FILE        the output of node --test (spec or tap reporter): its summary
                              lines "ℹ pass N" / "# pass N" etc.; cancelled counts as failed,
                              todo as skipped
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


def junit_cases(path):
    p = f = s = 0
    for case in ET.parse(path).getroot().iter("testcase"):
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            f += 1
        elif "skipped" in tags:
            s += 1
        else:
            p += 1
    return p, f, s


def node(path):
    with open(path, errors="replace") as fh:
        text = re.sub(r"\x1b\[[0-9;]*m", "", fh.read())
    counts = {}
    for key in ("pass", "fail", "cancelled", "skipped", "todo"):
        m = re.findall(r"^\s*(?:\u2139|#)\s*%s\s+(\d+)\s*$" % key, text, re.M)
        counts[key] = int(m[-1]) if m else 0
    return (counts["pass"], counts["fail"] + counts["cancelled"],
            counts["skipped"] + counts["todo"])


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
    modes = {"junit": junit, "junit-cases": junit_cases, "automake": automake, "node": node}
    if len(argv) != 3 or argv[1] not in modes:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        p, f, s = modes[argv[1]](argv[2])
    except (OSError, ET.ParseError) as e:
        print("tbcount: %s" % e, file=sys.stderr)
        return 1
    print(p, f, s)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
