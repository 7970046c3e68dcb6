#!/usr/bin/env python3
"""tests/lint/test_lint_tools.py: tests of tests/lint/cycles.py, tests/lint/links.py,
tests/lint/jsfnsize.py and tests/lint/distfiles.py on small trees written into a temporary
directory (no git there: the scripts walk the files; distfiles.py's tests make their own small
repository and tarball).

Run by tests/lint/lint.sh ("selftest", so by `make lint`):  python3 tests/lint/test_lint_tools.py
"""
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import cycles  # noqa: E402
import distfiles  # noqa: E402
import jsfnsize  # noqa: E402
import links  # noqa: E402

# Written in pieces so that links.py's check of this very file does not match them.
SHARED = "../" + "shared"
DESIGN_NOTE = "DESIGN" + ".md"


class Tree:
    """A temporary source tree: write(path, text) files into it."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="tb-lint-")

    def write(self, path, text=""):
        full = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as fh:
            fh.write(text)

    def remove(self):
        shutil.rmtree(self.root, ignore_errors=True)


def run_cycles(tree, allow=""):
    tree.write("tests/lint/cycles-allowed", allow)
    out = io.StringIO()
    ok = cycles.check(tree.root, os.path.join(tree.root, "tests/lint/cycles-allowed"), out)
    return ok, out.getvalue()


class CyclesLib(unittest.TestCase):
    def setUp(self):
        self.t = Tree()

    def tearDown(self):
        self.t.remove()

    def test_one_way_graph_passes(self):
        self.t.write("lib/a.h", '#include "b.h"\n')
        self.t.write("lib/a.c", '#include "a.h"\n#include "c.h"\n#include <stdio.h>\n')
        self.t.write("lib/b.h", "")
        self.t.write("lib/c.c", '#include "c.h"\n#include "b.h"\n')
        self.t.write("lib/c.h", "")
        ok, out = run_cycles(self.t)
        self.assertTrue(ok, out)
        self.assertIn("PASS: cycles-lib", out)
        self.assertIn("PASS: cycles-web", out)

    def test_cycle_through_a_c_file_fails_and_is_printed(self):
        # x.h -> y, y.c -> x: the module is the pair, so x <-> y is a cycle.
        self.t.write("lib/x.h", '#include "y.h"\n')
        self.t.write("lib/y.h", "")
        self.t.write("lib/y.c", '#include "y.h"\n#include "x.h"\n')
        ok, out = run_cycles(self.t)
        self.assertFalse(ok)
        self.assertIn("lib: x -> y -> x  (a new cycle", out)
        self.assertIn("FAIL: cycles-lib", out)

    def test_header_only_and_c_only_modules(self):
        # api.h alone is a module; api_one.c alone is another (not part of a cycle by itself).
        self.t.write("lib/api.h", '#include "app.h"\n')
        self.t.write("lib/app.h", "")
        self.t.write("lib/app.c", '#include "app.h"\n#include "api.h"\n')
        self.t.write("lib/api_one.c", '#include "api.h"\n')
        ok, out = run_cycles(self.t)
        self.assertFalse(ok)
        self.assertIn("lib: api -> app -> api", out)
        self.assertNotIn("api_one ->", out)

    def test_long_cycle_listed_once_from_its_smallest_module(self):
        self.t.write("lib/c.h", '#include "a.h"\n')
        self.t.write("lib/a.h", '#include "b.h"\n')
        self.t.write("lib/b.h", '#include "c.h"\n')
        ok, out = run_cycles(self.t)
        self.assertFalse(ok)
        lines = [x for x in out.splitlines() if x.startswith("lib: ")]
        self.assertEqual(lines, ["lib: a -> b -> c -> a  (a new cycle: make the dependency one-way)"])

    def test_every_elementary_cycle_of_a_component(self):
        # a <-> b and a <-> c: two cycles in one component, each printed.
        self.t.write("lib/a.h", '#include "b.h"\n#include "c.h"\n')
        self.t.write("lib/b.h", '#include "a.h"\n')
        self.t.write("lib/c.h", '#include "a.h"\n')
        _, out = run_cycles(self.t)
        self.assertIn("lib: a -> b -> a", out)
        self.assertIn("lib: a -> c -> a", out)

    def test_allowed_cycle_passes_other_fails(self):
        self.t.write("lib/a.h", '#include "b.h"\n')
        self.t.write("lib/b.h", '#include "a.h"\n')
        ok, out = run_cycles(self.t, "lib: a -> b -> a  # known: issue 16 item 1\n")
        self.assertTrue(ok, out)
        self.assertIn("lib: a -> b -> a  (known: tests/lint/cycles-allowed:1)", out)
        self.t.write("lib/c.h", '#include "a.h"\n')
        self.t.write("lib/a.c", '#include "c.h"\n')
        ok, out = run_cycles(self.t, "lib: a -> b -> a  # known: issue 16 item 1\n")
        self.assertFalse(ok)
        self.assertIn("lib: a -> c -> a  (a new cycle", out)

    def test_allow_line_needs_an_issue(self):
        self.t.write("lib/a.h", '#include "b.h"\n')
        self.t.write("lib/b.h", '#include "a.h"\n')
        ok, out = run_cycles(self.t, "lib: a -> b -> a  # we like it\n")
        self.assertFalse(ok)
        self.assertIn("cycles-allowed:1: lib: a -> b -> a: give the reason", out)

    def test_stale_allow_line_is_a_note_only(self):
        self.t.write("lib/a.h", "")
        ok, out = run_cycles(self.t, "# comment\nlib: a -> b -> a  # issue 16\n")
        self.assertTrue(ok, out)
        self.assertIn("note: tests/lint/cycles-allowed:2: lib: a -> b -> a is no longer found", out)

    def test_commented_out_include_is_still_text_but_system_include_is_not_an_edge(self):
        self.t.write("lib/a.h", '#include <b.h>\n#  include "c.h"\n')
        self.t.write("lib/b.h", '#include "a.h"\n')
        self.t.write("lib/c.h", "")
        ok, out = run_cycles(self.t)
        self.assertTrue(ok, out)


class CyclesWeb(unittest.TestCase):
    def setUp(self):
        self.t = Tree()

    def tearDown(self):
        self.t.remove()

    def test_import_forms_and_relative_resolution(self):
        self.t.write("web/js/app.js", 'import { a } from "./views/v.js";\nimport "./side.js";\n')
        self.t.write("web/js/views/v.js", 'import {\n  go,\n  x\n} from "../app.js";\n')
        self.t.write("web/js/side.js", 'export { y } from "./deep/d.js";\n')
        self.t.write("web/js/deep/d.js", 'const m = await import("../side.js");\n')
        ok, out = run_cycles(self.t)
        self.assertFalse(ok)
        self.assertIn("web: app.js -> views/v.js -> app.js  (a new cycle", out)
        self.assertIn("web: deep/d.js -> side.js -> deep/d.js  (a new cycle", out)
        self.assertIn("FAIL: cycles-web", out)
        self.assertIn("PASS: cycles-lib", out)

    def test_comments_bare_specifiers_and_workers_are_no_edges(self):
        self.t.write("web/js/a.js", '// import { b } from "./b.js";\n * import "./b.js"\n'
                     'import x from "lib";\nnew Worker(new URL("./b.js", import.meta.url));\n')
        self.t.write("web/js/b.js", 'import { a } from "./a.js";\n')
        ok, out = run_cycles(self.t)
        self.assertTrue(ok, out)

    def test_allowed_web_cycle(self):
        self.t.write("web/js/app.js", 'import { v } from "./views/v.js";\n')
        self.t.write("web/js/views/v.js", 'import { go } from "../app.js";\n')
        ok, out = run_cycles(self.t, "web: app.js -> views/v.js -> app.js  # issue 16: app.js <-> views\n")
        self.assertTrue(ok, out)


def run_links(tree):
    out = io.StringIO()
    old, sys.stdout = sys.stdout, out
    try:
        rc = links.main(["--srcdir", tree.root])
    finally:
        sys.stdout = old
    return rc, out.getvalue()


class Links(unittest.TestCase):
    def setUp(self):
        self.t = Tree()
        self.t.write("docs/api.md", "# The API\n\n## Errors and statuses\n\ntext\n\n## Errors and statuses\n\n"
                     "#### Control events (no `id:`)\n\n```\n# not a heading\n```\n")
        self.t.write("conf/apache/teamboard.conf", "# conf\n")
        self.t.write("sql/011_authz_in_statement.sql", "-- sql\n")
        self.t.write("lib/tb_log.c", "/* log */\n")
        self.t.write("lib/tb_log.h", "/* log */\n")

    def tearDown(self):
        self.t.remove()

    def test_clean_tree_passes_every_check(self):
        self.t.write("README.md", "See [the API](docs/api.md), [errors](docs/api.md#errors-and-statuses),\n"
                     "[again](docs/api.md#errors-and-statuses-1), [the web](https://example.org/x) and\n"
                     "[control](docs/api.md#control-events-no-id)\n"
                     "conf/apache/teamboard.conf, lib/tb_log.[ch], lib/tb_log.{c,h}, sql/011, sql/NNN_*.sql,\n"
                     "lib/tb_<name>.c.\n")
        self.t.write("docs/design.md", "[api](api.md) [top](#top)\n\n# Top\n")
        rc, out = run_links(self.t)
        self.assertEqual(rc, 0, out)
        for check in ("links-markdown", "links-paths", "links-outside"):
            self.assertIn("PASS: %s" % check, out)

    def test_dangling_markdown_link_and_anchor(self):
        self.t.write("README.md", "x\n[gone](docs/upgrade.md) and [bad anchor](docs/api.md#nope)\n"
                     "[in code](docs/api.md#not-a-heading)\n")
        self.t.write("docs/x.md", "[up](../README.md) [out](../../elsewhere.md) [abs](/docs/api.md)\n")
        rc, out = run_links(self.t)
        self.assertEqual(rc, 1)
        self.assertIn("README.md:2: docs/upgrade.md: no such file", out)
        self.assertIn("README.md:2: docs/api.md#nope: docs/api.md has no heading with anchor #nope", out)
        self.assertIn("README.md:3: docs/api.md#not-a-heading: docs/api.md has no heading", out)
        self.assertIn("docs/x.md:1: ../../elsewhere.md: leads outside the repository", out)
        self.assertIn("docs/x.md:1: /docs/api.md: an absolute link", out)
        self.assertNotIn("../README.md", out)
        self.assertIn("FAIL: links-markdown", out)

    def test_links_in_code_are_not_links(self):
        self.t.write("README.md", "```\n[a](nothing.md)\n```\n\n    [b](nothing.md)\n\n`[c](nothing.md)`\n")
        rc, out = run_links(self.t)
        self.assertIn("PASS: links-markdown", out)

    def test_paths_in_docs_and_in_comments_only(self):
        self.t.write("docs/ops.md", "Edit conf/apache/missing.conf, then lib/tb_nothing.[ch].\n")
        self.t.write("lib/a.c", '/* see docs/gone.md */\nconst char *p = "docs/code-string.md"; // sql/099\n')
        self.t.write("sql/020_x.sql", "-- as in lib/tb_gone.c\nselect 'docs/in-string.md';\n")
        self.t.write("tests/t.py", '"""Uses conf/none.conf."""\nx = "docs/str.md"  # web/js/none.js\n')
        self.t.write("conf/x.conf", "# docs/conf-comment.md\nkey = docs/value.md\n")
        self.t.write("web/js/a.js", "const u = `docs/tpl.md`; /* web/js/b.js */\n")
        self.t.write("bench/run.sh", "#!/bin/sh\necho docs/echo.md # bench/none.py\n")
        self.t.write("configure.ac", "dnl see conf/none.ac\nAC_INIT([docs/ac-code.md])\n")
        rc, out = run_links(self.t)
        self.assertEqual(rc, 1)
        for want in ("docs/ops.md:1: conf/apache/missing.conf", "docs/ops.md:1: lib/tb_nothing.[ch]",
                     "lib/a.c:1: docs/gone.md", "lib/a.c:2: sql/099", "sql/020_x.sql:1: lib/tb_gone.c",
                     "tests/t.py:1: conf/none.conf", "tests/t.py:2: web/js/none.js",
                     "conf/x.conf:1: docs/conf-comment.md", "web/js/a.js:1: web/js/b.js",
                     "bench/run.sh:2: bench/none.py", "configure.ac:1: conf/none.ac"):
            self.assertIn(want + ": no such path", out)
        for code in ("code-string", "in-string", "docs/str.md", "docs/value.md", "docs/tpl.md", "docs/echo.md",
                     "ac-code"):
            self.assertNotIn(code, out)
        self.assertIn("FAIL: links-paths", out)

    def test_allow_list_names_paths_that_must_not_exist(self):
        self.t.write("docs/d.md", "No docs/docs appears, and docs/gone.md is missing.\n")
        self.t.write("tests/lint/links-allowed", "# comment\ndocs/docs  # a copy inside itself\n")
        rc, out = run_links(self.t)
        self.assertNotIn("docs/docs", out)
        self.assertIn("docs/d.md:1: docs/gone.md: no such path", out)

    def test_only_the_trees_top_directories_start_a_path(self):
        # No cgi-bin/ in this tree: "cgi-bin/x" names a web space's folder, not a repository path.
        self.t.write("docs/d.md", "Upload to cgi-bin/teamboard.fcgi; docs/none.md is missing.\n")
        rc, out = run_links(self.t)
        self.assertNotIn("cgi-bin", out)
        self.assertIn("docs/d.md:1: docs/none.md: no such path", out)

    def test_path_inside_a_longer_path_is_not_a_repository_path(self):
        self.t.write("docs/d.md", "/usr/share/teamboard/sql/001.sql and ~/lib/x and http://h/docs/y.md\n")
        rc, out = run_links(self.t)
        self.assertIn("PASS: links-paths", out)

    def test_references_outside_the_repository(self):
        self.t.write("docs/d.md", "As %s says, see %s/research.\n" % (DESIGN_NOTE, SHARED))
        self.t.write("lib/a.c", "/* per %s */\n" % ("STYLE" + ".md"))
        rc, out = run_links(self.t)
        self.assertEqual(rc, 1)
        self.assertIn("docs/d.md:1: %s:" % DESIGN_NOTE, out)
        self.assertIn("docs/d.md:1: %s:" % SHARED, out)
        self.assertIn("lib/a.c:1: STYLE" + ".md:", out)
        self.assertIn("FAIL: links-outside", out)

    def test_outside_git_the_top_gitignore_names_build_products(self):
        self.t.write(".gitignore", "# build\n/fcgi/teamboard.fcgi\n/tests/browser/artifacts/\n*.log\n")
        for f in ("fcgi/teamboard_fcgi.c", "tests/browser/run.sh"):
            self.t.write(f, "")
        self.t.write("docs/d.md", "fcgi/teamboard.fcgi, tests/browser/artifacts/x.png, tests/run.log,\n"
                     "but not fcgi/teamboard and tests/browser/artifactsx\n")
        rc, out = run_links(self.t)
        self.assertEqual(rc, 1)
        self.assertIn("docs/d.md:2: fcgi/teamboard: no such path", out)
        self.assertIn("docs/d.md:2: tests/browser/artifactsx: no such path", out)
        self.assertEqual(out.count("no such path"), 2, out)

    def test_git_ignored_build_products_count_as_existing(self):
        if not shutil.which("git"):
            self.skipTest("git is not installed")
        subprocess.run(["git", "init", "-q", self.t.root], check=True)
        self.t.write(".gitignore", "/fcgi/teamboard.fcgi\n/tests/browser/artifacts/\n/bench/results/\n")
        for f in ("fcgi/teamboard_fcgi.c", "tests/browser/run.sh", "bench/run.sh"):
            self.t.write(f, "")
        self.t.write("docs/d.md", "fcgi/teamboard.fcgi, tests/browser/artifacts/, bench/results/<time>.json,\n"
                     "but not fcgi/nothing.c\n")
        rc, out = run_links(self.t)
        self.assertEqual(rc, 1)
        self.assertIn("docs/d.md:2: fcgi/nothing.c: no such path", out)
        self.assertEqual(out.count("no such path"), 1, out)


def body(n):
    """n lines of code for a function's body."""
    return "".join("  x%d();\n" % i for i in range(n))


class JsFnSize(unittest.TestCase):
    def sizes(self, text):
        return [(name, n) for _line, name, n in jsfnsize.functions(jsfnsize.blank(text))]

    def test_every_kind_of_function_is_measured(self):
        text = ("function a() {\n" + body(3) + "}\n"
                "const b = async (x, y) => {\n" + body(2) + "};\n"
                "export function* c() {\n" + body(1) + "}\n"
                "class K {\n  m(q) {\n" + body(4) + "  }\n  static async s() {\n" + body(2) + "  }\n}\n"
                "const o = { p: function () {\n" + body(5) + "} };\n"
                "arr.map((v) => {\n" + body(2) + "});\n")
        self.assertEqual(sorted(self.sizes(text)),
                         sorted([("a", 3), ("b", 2), ("c", 1), ("m", 4), ("s", 2), ("p", 5), ("(anonymous)", 2)]))

    def test_control_statements_are_not_methods(self):
        text = "function f() {\n  if (a) {\n" + body(2) + "  }\n  for (;;) {\n  }\n}\n"
        self.assertEqual(self.sizes(text), [("f", 6)])

    def test_braces_in_strings_comments_templates_and_regexes_count_for_nothing(self):
        text = ("function f() {\n"
                "  const s = \"}\" + '}' + `}${ {a: 1}.a }}` + `${`${'}'}`}`;  // }\n"
                "  /* } */ const r = /[}/]}/g; const d = a / b / c;\n"
                "  return s;\n"
                "}\n"
                "function g() {\n" + body(1) + "}\n")
        self.assertEqual(self.sizes(text), [("f", 3), ("g", 1)])

    def test_a_function_over_the_limit_fails_with_its_place(self):
        t = Tree()
        try:
            t.write("web/js/ok.js", "function fine() {\n" + body(150) + "}\n")
            t.write("web/js/board/big.js", "// one\nexport function render() {\n" + body(151) + "}\n")
            out = io.StringIO()
            old, sys.stdout = sys.stdout, out
            try:
                rc = jsfnsize.main(["--srcdir", t.root])
            finally:
                sys.stdout = old
            self.assertEqual(rc, 1)
            self.assertEqual(out.getvalue(), "web/js/board/big.js:2: render is 151 lines (limit 150)\nFAIL: jsfnsize\n")
        finally:
            t.remove()


class DistFiles(unittest.TestCase):
    """distfiles.py: every tracked file but the excluded ones must be in the tarball."""

    def setUp(self):
        self.t = Tree()
        for path in ("configure.ac", "tests/browser/run.sh", "sql/functions/a.sql", ".gitignore"):
            self.t.write(path, "x\n")
        git = ["git", "-C", self.t.root, "-c", "user.name=t", "-c", "user.email=t@example.org"]
        subprocess.run(git + ["init", "-q"], check=True)
        subprocess.run(git + ["add", "-A"], check=True)
        subprocess.run(git + ["commit", "-q", "-m", "t"], check=True)

    def tearDown(self):
        self.t.remove()

    def run_main(self, members):
        tarball = os.path.join(self.t.root, "pkg-1.0.tar.gz")
        with tarfile.open(tarball, "w:gz") as tar:
            for m in members:
                info = tarfile.TarInfo("pkg-1.0/" + m)
                tar.addfile(info, io.BytesIO(b""))
        out = io.StringIO()
        old, sys.stdout = sys.stdout, out
        try:
            rc = distfiles.main(["--srcdir", self.t.root, tarball])
        finally:
            sys.stdout = old
        return rc, out.getvalue()

    def test_complete_tarball_passes_and_gitignore_is_excluded(self):
        rc, out = self.run_main(["configure.ac", "tests/browser/run.sh", "sql/functions/a.sql",
                                 "configure", "Makefile.in"])
        self.assertEqual(rc, 0, out)
        self.assertEqual(out, "PASS: distfiles\n")

    def test_a_missing_tracked_file_fails_by_name(self):
        rc, out = self.run_main(["configure.ac", "sql/functions/a.sql"])
        self.assertEqual(rc, 1)
        self.assertIn("distfiles: tests/browser/run.sh is tracked by git but not in pkg-1.0.tar.gz", out)
        self.assertTrue(out.endswith("FAIL: distfiles\n"), out)

    def test_a_file_deleted_from_the_tree_is_not_asked_for(self):
        os.unlink(os.path.join(self.t.root, "tests/browser/run.sh"))
        rc, out = self.run_main(["configure.ac", "sql/functions/a.sql"])
        self.assertEqual(rc, 0, out)

    def test_outside_a_checkout_it_passes_and_says_why(self):
        shutil.rmtree(os.path.join(self.t.root, ".git"))
        rc, out = self.run_main([])
        self.assertEqual(rc, 0, out)
        self.assertIn("is not a git checkout", out)

    def test_missing_is_sorted_and_honours_the_exclusions(self):
        self.assertEqual(distfiles.missing(["b", "a", ".gitignore", "c"], ["c"]), ["a", "b"])
        self.assertEqual(distfiles.missing(["a", "x"], [], {"x": "why"}), ["a"])


if __name__ == "__main__":
    unittest.main()
