#!/usr/bin/env python3
"""tests/lint/jsfnsize.py: no function of the browser client (web/js/**/*.js) is longer than
150 lines (issue 16: the board was one 816-line function once). The C side of the same rule is
clang-tidy's readability-function-size (.clang-tidy, 80 lines).

A function is a `function` declaration or expression (named or not, async and generators too), an
arrow function with a braced body, or a method of a class or object literal (`name(...) {`). Its
length is counted like clang-tidy counts: the lines from the one holding its opening brace to the
one holding its closing brace, minus one. Strings, template literals (their ${...} parts
included), comments and regular-expression literals are skipped when matching braces, so a brace
inside them counts for nothing.

Prints "path:line: name is N lines (limit 150)" for each function over the limit and one line
"PASS: jsfnsize" / "FAIL: jsfnsize", as tests/lint/lint.sh prints.

    jsfnsize.py [--srcdir DIR] [--limit N]

Exit status 0 when every function is within the limit. tests/lint/test_lint_tools.py tests it.
"""
import argparse
import os
import re
import sys

LIMIT = 150

# After one of these tokens a "/" starts a regular expression, not a division.
_REGEX_AFTER = set("(,=:[!&|?{};+-*%<>~^") | {"return", "typeof", "case", "do", "else", "in", "of",
                                                "new", "delete", "void", "throw", "yield", "await"}


def blank(src):
    """src with the insides of strings, template literals, comments and regex literals replaced by
    spaces (newlines kept), so that braces and parentheses left are code."""
    out = list(src)
    i, n = 0, len(src)
    last = ""  # the last significant token, to tell a regex from a division
    stack = []  # for template literals: brace depth inside each open ${ }

    def wipe(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    def template(i):
        """Skips a template literal's text from i (after ` or }); returns (index, opened ${)."""
        while i < n:
            c = src[i]
            if c == "\\":
                wipe(i, min(i + 2, n))
                i += 2
                continue
            if c == "`":
                return i + 1, False
            if c == "$" and i + 1 < n and src[i + 1] == "{":
                wipe(i, i + 2)
                return i + 2, True
            wipe(i, i + 1)
            i += 1
        return n, False

    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            wipe(i, j)
            i = j
            continue
        if src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            wipe(i, j)
            i = j
            continue
        if c in "\"'":
            j = i + 1
            while j < n and src[j] != c and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            wipe(i + 1, min(j, n))
            i = j + 1
            last = "str"
            continue
        if c == "`":
            i, opened = template(i + 1)
            if opened:
                stack.append(0)
            last = "str"
            continue
        if c == "/" and (last in _REGEX_AFTER or last == ""):
            j, in_class = i + 1, False
            while j < n and src[j] != "\n":
                if src[j] == "\\":
                    j += 2
                    continue
                if src[j] == "[":
                    in_class = True
                elif src[j] == "]":
                    in_class = False
                elif src[j] == "/" and not in_class:
                    break
                j += 1
            wipe(i + 1, j)
            i = j + 1
            while i < n and (src[i].isalpha()):
                i += 1
            last = "re"
            continue
        if stack:
            if c == "{":
                stack[-1] += 1
            elif c == "}":
                if stack[-1] == 0:
                    stack.pop()
                    out[i] = " "
                    i, opened = template(i + 1)
                    if opened:
                        stack.append(0)
                    last = "str"
                    continue
                stack[-1] -= 1
        if c.isspace():
            i += 1
            continue
        m = re.match(r"[A-Za-z_$][\w$]*", src[i:i + 64])
        if m:
            last = m.group(0)
            i += len(last)
            continue
        last = c
        i += 1
    return "".join(out)


_KEYWORDS = {"if", "for", "while", "switch", "catch", "with", "function", "return"}
_STARTS = [
    # function declarations and expressions: function name(...) {  /  key: function* (...) {
    re.compile(r"(?:(?P<key>[A-Za-z_$][\w$]*)\s*[:=]\s*)?(?:async\s+)?"
               r"\bfunction\b\s*\*?\s*(?P<name>[A-Za-z_$][\w$]*)?\s*\("),
    # methods: name(...) {   (also get/set/async/static name(...) {)
    re.compile(r"(?m)^[ \t]*(?:(?:static|async|get|set)\s+)*\*?\s*(?P<name>[A-Za-z_$][\w$]*)\s*\("),
    # arrow functions with a body: (...) => {  /  x => {
    re.compile(r"(?:(?P<name>[A-Za-z_$][\w$]*)\s*[:=]\s*)?(?:async\s*)?(?:\([^()]*\)|[A-Za-z_$][\w$]*)\s*=>\s*\{"),
]


def _close(code, i, open_c, close_c):
    """Index of the bracket closing the one at i, or -1."""
    depth = 0
    for k in range(i, len(code)):
        if code[k] == open_c:
            depth += 1
        elif code[k] == close_c:
            depth -= 1
            if depth == 0:
                return k
    return -1


def functions(code):
    """[(line, name, lines)] of the functions in code (already blanked), by where they start."""
    found = {}
    for pat in _STARTS:
        for m in pat.finditer(code):
            g = m.groupdict()
            name = g.get("name") or g.get("key") or "(anonymous)"
            if pat is _STARTS[1] and name in _KEYWORDS:
                continue
            if m.group(0).endswith("{"):
                brace = m.end() - 1
            else:
                paren = _close(code, m.end() - 1, "(", ")")
                if paren < 0:
                    continue
                rest = re.match(r"\s*\{", code[paren + 1:])
                if not rest:
                    continue
                brace = paren + rest.end()
            end = _close(code, brace, "{", "}")
            if end < 0 or brace in found:
                continue
            first = code.count("\n", 0, brace) + 1
            found[brace] = (first, name, code.count("\n", brace, end) - 1)
    return sorted(found.values())


def js_files(root):
    base = os.path.join(root, "web", "js")
    for d, _dirs, files in os.walk(base):
        for f in sorted(files):
            if f.endswith(".js"):
                yield os.path.join(d, f)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--srcdir", default=".")
    ap.add_argument("--limit", type=int, default=LIMIT)
    a = ap.parse_args(argv)
    bad = 0
    for path in sorted(js_files(a.srcdir)):
        with open(path, encoding="utf-8") as f:
            code = blank(f.read())
        for line, name, n in functions(code):
            if n > a.limit:
                print("%s:%d: %s is %d lines (limit %d)" % (os.path.relpath(path, a.srcdir), line, name, n, a.limit))
                bad += 1
    print("%s: jsfnsize" % ("FAIL" if bad else "PASS"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
