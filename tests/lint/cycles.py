#!/usr/bin/env python3
"""tests/lint/cycles.py: the module graphs of lib/ and web/js/ must be one-way (issue 16 item 1).

  lib      a module is x.c + x.h (either may be missing: lib/tb_api.h alone is the module tb_api,
           lib/api_items.c alone is api_items); an edge x -> y when x.c or x.h has #include "y.h"
           for a y.h of lib/. A file including its own header is no edge.
  web      a module is one file of web/js/ (views/board.js); an edge a -> b for every ES import of
           b in a: `import ... from "./b.js"`, `import "./b.js"`, `export ... from "./b.js"` and
           `import("./b.js")`, relative specifiers resolved against a's directory.

Every elementary cycle of each graph is printed, smallest module first
("lib: tb_app -> tb_auth -> tb_app"). A cycle listed in tests/lint/cycles-allowed (same text,
then "# why, and the issue that removes it") is a known one and only reported; any other cycle
fails. An allowed cycle that is no longer found gets a note: remove its line. So no new cycle can
land while the known ones are taken apart one by one.

One "PASS: x" / "FAIL: x" line per graph (cycles-lib, cycles-web), as tests/lint/lint.sh prints.

    cycles.py [--srcdir DIR] [--allow FILE]

Exit status 0 when both graphs passed. tests/lint/test_lint_tools.py tests this on small trees.
"""
import argparse
import os
import re
import sys

MAX_CYCLES = 10000  # a bound on the enumeration; far above any real tree


# ---- the graphs --------------------------------------------------------------------------------

def lib_graph(root):
    """{module: set(modules it includes)} of root/lib."""
    d = os.path.join(root, "lib")
    if not os.path.isdir(d):
        return {}
    files = sorted(f for f in os.listdir(d) if f.endswith((".c", ".h")))
    headers = {f[:-2] for f in files if f.endswith(".h")}
    graph = {f[:-2]: set() for f in files}
    inc = re.compile(r'^\s*#\s*include\s+"([^"]+)\.h"', re.M)
    for f in files:
        mod = f[:-2]
        with open(os.path.join(d, f), encoding="utf-8", errors="replace") as fh:
            for target in inc.findall(fh.read()):
                if target in headers and target != mod:
                    graph[mod].add(target)
    return graph


_IMPORTS = [
    re.compile(r'^[ \t]*import\s*(["\'])(.+?)\1', re.M),                    # import "./x.js"
    re.compile(r'^[ \t]*(?:import|export)\b[^;"\'`]*?\bfrom\s*(["\'])(.+?)\1', re.M | re.S),
    re.compile(r'\bimport\s*\(\s*(["\'])(.+?)\1\s*\)'),                     # import("./x.js")
]


def web_graph(root):
    """{module: set(modules it imports)} of root/web/js, modules named by their path there."""
    base = os.path.join(root, "web", "js")
    graph = {}
    if not os.path.isdir(base):
        return graph
    for d, dirs, names in os.walk(base):
        dirs[:] = sorted(x for x in dirs if x != "node_modules")
        for n in sorted(names):
            if n.endswith((".js", ".mjs")):
                graph[os.path.relpath(os.path.join(d, n), base).replace(os.sep, "/")] = set()
    for mod in list(graph):
        with open(os.path.join(base, mod), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        for rx in _IMPORTS:
            for m in rx.finditer(text):
                spec = m.group(2)
                if not spec.startswith("."):
                    continue  # a bare or absolute specifier is not a module of web/js
                target = os.path.normpath(os.path.join(os.path.dirname(mod), spec)).replace(os.sep, "/")
                if target in graph and target != mod:
                    graph[mod].add(target)
    return graph


# ---- cycles ------------------------------------------------------------------------------------

def _sccs(graph):
    """Strongly connected components (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return out


def cycles(graph):
    """Every elementary cycle, as a list of modules starting at its smallest, sorted."""
    found = []
    for comp in _sccs(graph):
        if len(comp) < 2:
            continue
        members = set(comp)
        # Each cycle once: from its smallest module s, through modules greater than s only.
        for s in comp:
            path, blocked = [s], {s}
            work = [iter(sorted(graph[s] & members))]
            while work and len(found) < MAX_CYCLES:
                w = next(work[-1], None)
                if w is None:
                    work.pop()
                    blocked.discard(path.pop())
                elif w == s:
                    found.append(list(path))
                elif w > s and w not in blocked:
                    path.append(w)
                    blocked.add(w)
                    work.append(iter(sorted(graph[w] & members)))
    return sorted(found)


def cycle_text(kind, cyc):
    return "%s: %s" % (kind, " -> ".join(cyc + [cyc[0]]))


# ---- the allow-list ----------------------------------------------------------------------------

def read_allowed(path, problems, shown=None):
    """{cycle text: line number} of the allow-list; a line without a reason is a problem (reported
    with the file's name as shown)."""
    allowed = {}
    if not os.path.exists(path):
        return allowed
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            text, _, why = line.partition("#")
            text = " ".join(text.split())
            if not text:
                continue
            if not re.search(r"\bissue \d+", why):
                problems.append("%s:%d: %s: give the reason and the issue that removes it (# ... issue N)"
                                % (shown or path, n, text))
            allowed[text] = n
    return allowed


def check(root, allow_path, out=sys.stdout):
    """Prints the cycles and one PASS/FAIL line per graph; returns True when both passed."""
    shown = os.path.relpath(allow_path, root) if allow_path.startswith(root + os.sep) else allow_path
    list_problems = []  # reported under the first graph
    allowed = read_allowed(allow_path, list_problems, shown)
    ok = True
    for kind, graph in (("lib", lib_graph(root)), ("web", web_graph(root))):
        bad, list_problems = list_problems, []
        found = cycles(graph)
        if len(found) >= MAX_CYCLES:
            bad.append("%s: more than %d cycles; only the first are listed" % (kind, MAX_CYCLES))
        for cyc in found:
            text = cycle_text(kind, cyc)
            if text in allowed:
                print("%s  (known: %s:%d)" % (text, shown, allowed[text]), file=out)
                allowed.pop(text)
            else:
                bad.append("%s  (a new cycle: make the dependency one-way)" % text)
        for p in bad:
            print(p, file=out)
        print("%s: cycles-%s" % ("FAIL" if bad else "PASS", kind), file=out)
        ok = ok and not bad
    for text, n in sorted(allowed.items(), key=lambda kv: kv[1]):
        print("note: %s:%d: %s is no longer found: remove the line" % (shown, n, text), file=out)
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--srcdir", default=".")
    ap.add_argument("--allow", default=None, help="the allow-list (default: SRCDIR/tests/lint/cycles-allowed)")
    args = ap.parse_args(argv)
    root = os.path.abspath(args.srcdir)
    allow = args.allow or os.path.join(root, "tests", "lint", "cycles-allowed")
    return 0 if check(root, allow) else 1


if __name__ == "__main__":
    sys.exit(main())
