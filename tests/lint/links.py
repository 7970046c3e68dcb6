#!/usr/bin/env python3
"""tests/lint/links.py: every link and path the project writes down must lead somewhere in the tree.

Three checks, run by tests/lint/lint.sh (so by `make lint`), one "PASS: x" / "FAIL: x" line each
after its findings ("file:line: what"):

  links-markdown  every relative Markdown link in README.md and docs/*.md ([t](x), ![a](x),
                  [r]: x) names a file or directory that exists; "x#anchor" and "#anchor" name a
                  heading (or an <a id/name>) of the target Markdown file. Links in code blocks
                  and in `code spans` are text, not links.
  links-paths     every repository path named in docs/*.md and README.md, and in the comments of
                  the sources (lib/, fcgi/, conf/, sql/, tests/, web/js/, bench/, .ci/ and the
                  top-level scripts), exists. A repository path is a word that starts with one of
                  the tree's top-level directories ("docs/api.md", "conf/apache/teamboard.conf",
                  "lib/tb_log.[ch]"); "*", "?", "[ch]", "{c,h}" and "<placeholder>" are patterns
                  that must match at least one file. A path that git ignores (a build product such
                  as fcgi/teamboard.fcgi, tests/browser/artifacts/) counts as existing, and so
                  does one listed in tests/lint/links-allowed (a path named because it must NOT
                  exist, each with its reason).
  links-outside   nothing in those files points outside the repository: the parent's shared
                  folder, or the design and style notes that lived there (see OUTSIDE below).

    links.py [--srcdir DIR] [--allow FILE]

Exit status 0 when all three passed. Files are the ones git knows (tracked, or new and not
ignored); outside a git checkout (a release tarball) every file of the tree but build trees and
node_modules, and a build product named in a doc counts only once it is built.
"""
import argparse
import fnmatch
import glob
import io
import os
import re
import subprocess
import sys
import tokenize

# Where comments are searched for paths and outside references (with the Markdown files).
SOURCE_DIRS = ("lib", "fcgi", "conf", "sql", "tests", "web/js", "bench", ".ci")
SOURCE_TOP_FILES = ("dev.sh", "Makefile.am", "configure.ac")
# Never searched: seed inputs of the fuzzers, lock files, third-party code.
SKIP_PARTS = ("tests/fuzz/corpus/", "node_modules/", "package-lock.json")
# References that leave the repository (written in pieces so that this file does not match itself).
OUTSIDE = [
    (re.compile(r"\.\./" + "shared" + r"\b"), "the parent's shared folder"),
    (re.compile(r"/work/" + "shared" + r"\b"), "the parent's shared folder"),
    (re.compile(r"\b" + "DESIGN" + r"\.md\b"), "a design note outside the repository (docs/design.md is the one)"),
    (re.compile(r"\b" + "STYLE" + r"\.md\b"), "a style note outside the repository"),
]

PATH_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/*?[]<>{}+@")


# ---- the files ---------------------------------------------------------------------------------

def tree_files(root):
    """The tree's files, relative to root: git's tracked and new-not-ignored files, else a walk."""
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                             capture_output=True, check=True, timeout=60).stdout.decode()
        files = [f for f in out.split("\0") if f]
        return sorted(f for f in set(files) if os.path.isfile(os.path.join(root, f)))
    except (OSError, subprocess.SubprocessError):
        pass
    files = []
    for d, dirs, names in os.walk(root):
        rel = os.path.relpath(d, root)
        top = rel == "."
        dirs[:] = [x for x in dirs if not (top and (x.startswith(("build", "_build", "_inst")) or
                                                    x in (".git", "autom4te.cache")))
                   and x not in ("node_modules", "__pycache__", ".deps")]
        files += [os.path.normpath(os.path.join(rel, n)) for n in names]
    return sorted(files)


def markdown_files(files):
    return [f for f in files if f == "README.md" or (f.startswith("docs/") and f.endswith(".md"))]


def source_files(files):
    def wanted(f):
        if any(p in f for p in SKIP_PARTS):
            return False
        return f in SOURCE_TOP_FILES or any(f.startswith(d + "/") for d in SOURCE_DIRS)
    return [f for f in files if wanted(f)]


def read_text(root, f):
    try:
        with open(os.path.join(root, f), encoding="utf-8") as fh:
            return fh.read()
    except (UnicodeDecodeError, OSError):
        return None  # binary (screenshots, corpus) or unreadable: nothing to check


# ---- comments ----------------------------------------------------------------------------------
# Each extractor returns the text with everything that is not comment blanked out (newlines kept),
# so that line numbers stay right.

def _blank(s):
    return re.sub(r"[^\n]", " ", s)


def comments_c_like(text, quotes, line_comment="//", block=True):
    """Comments of C, JavaScript, CSS and SQL: line comments and /* */, outside quoted strings."""
    out, i, n = [], 0, len(text)
    backslash = line_comment != "--"  # SQL strings have no backslash escapes
    while i < n:
        c = text[i]
        if text.startswith(line_comment, i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(text[i:j])
            i = j
        elif block and text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(text[i:j])
            i = j
        elif c in quotes:
            j = i + 1
            while j < n and text[j] != c:
                if text[j] == "\\" and backslash:
                    j += 1
                elif text[j] == "\n" and c != "`":
                    break
                j += 1
            out.append(_blank(text[i:j + 1]))
            i = j + 1
        else:
            out.append(" " if c != "\n" else "\n")
            i += 1
    return "".join(out)


def comments_hash(text, marker=r"#"):
    """Comments of shell, config files, autoconf (marker "#|dnl"): from a marker at the start of a
    word to the line's end. Triple-quoted strings count as comments too."""
    out = []
    for line in text.split("\n"):
        m = re.search(r"(^|\s)(?:%s)" % marker, line)
        out.append(" " * m.end() + line[m.end():] if m else " " * len(line))
    blanked = "\n".join(out)
    for m in re.finditer(r'("""|\'\'\')(.*?)\1', text, re.S):
        start, end = m.span()
        blanked = blanked[:start] + text[start:end] + blanked[end:]
    return blanked


def comments_python(text):
    """Comments of Python: # comments and triple-quoted strings (docstrings), from its tokenizer."""
    lines = text.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    keep = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT or (tok.type == tokenize.STRING and
                                                re.match(r"^[rRbBuUfF]*(\"\"\"|''')", tok.string)):
                keep.append((starts[tok.start[0] - 1] + tok.start[1], starts[tok.end[0] - 1] + tok.end[1]))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return comments_hash(text)
    out = list(_blank(text))
    for a, b in keep:
        out[a:b] = text[a:b]
    return "".join(out)


def comments_of(f, text):
    base = os.path.basename(f)
    ext = os.path.splitext(base)[1]
    if ext in (".c", ".h", ".css"):
        return comments_c_like(text, "\"'")
    if ext in (".js", ".mjs"):
        return comments_c_like(text, "\"'`")
    if ext == ".sql":
        return comments_c_like(text, "'", line_comment="--")
    if ext == ".py" or (not ext and text.startswith("#!") and "python" in text.split("\n", 1)[0]):
        return comments_python(text)
    if ext == ".md":
        return text  # a Markdown file under the source directories is all prose
    if ext in (".json", ".dict", ".png", ".svg", ".html", ".txt"):
        return ""
    if ext == ".ac":
        return comments_hash(text, r"#|dnl\b")
    return comments_hash(text)  # .sh, .conf, .in, .am, .ac, .sample, .service, .htaccess, scripts


# ---- repository paths --------------------------------------------------------------------------

def top_dirs(files):
    """The top-level directories of the tree (those that hold a file)."""
    return sorted({f.split("/", 1)[0] for f in files if "/" in f})


def paths_in(text, tops):
    """(line, path) for every word of text that starts with one of the directories tops."""
    found = []
    start = re.compile(r"(?<![\w./~$@-])(?:%s)/" % "|".join(re.escape(d) for d in tops))
    for m in start.finditer(text):
        i, depth = m.start(), 0
        j = i
        while j < len(text):
            c = text[j]
            if c in "{<":
                depth += 1
            elif c in "}>":
                depth -= 1
            if c in PATH_CHARS or (c == "," and depth > 0):
                j += 1
            else:
                break
        found.append((text.count("\n", 0, i) + 1, _trim(text[i:j])))
    return found


def _trim(word):
    """word without the punctuation that ends a sentence or closes a bracket opened before it."""
    while word:
        c = word[-1]
        opener = {"]": "[", "}": "{", ">": "<", ")": "("}.get(c)
        if c in ".,:;-" or (opener and word.count(opener) < word.count(c)):
            word = word[:-1]
        else:
            break
    return word


def _expand_braces(p):
    m = re.search(r"\{([^{}]*)\}", p)
    if not m:
        return [p]
    return [x for alt in m.group(1).split(",") for x in _expand_braces(p[:m.start()] + alt + p[m.end():])]


class Tree:
    """What exists: the files on disk, and what git ignores (build products)."""

    def __init__(self, root):
        self.root = root
        self._ignored = {}
        self._patterns = None

    def ignored(self, path):
        """Whether git ignores path (a build product); outside a checkout, by the top .gitignore."""
        if path not in self._ignored:
            rc = 128
            try:
                rc = subprocess.run(["git", "-C", self.root, "check-ignore", "-q", "--no-index", path],
                                    capture_output=True, timeout=30).returncode
            except (OSError, subprocess.SubprocessError):
                pass
            self._ignored[path] = rc == 0 if rc in (0, 1) else self._gitignore_matches(path)
        return self._ignored[path]

    def _gitignore_matches(self, path):
        if self._patterns is None:
            self._patterns = []
            try:
                with open(os.path.join(self.root, ".gitignore"), encoding="utf-8") as fh:
                    self._patterns = [x.strip() for x in fh if x.strip() and not x.startswith(("#", "!"))]
            except OSError:
                pass
        parts = path.rstrip("/").split("/")
        for pat in self._patterns:
            dir_only, pat = pat.endswith("/"), pat.rstrip("/")
            anchored = "/" in pat
            pat = pat.lstrip("/")
            for n in range(1, len(parts) + 1):
                if dir_only and n == len(parts) and not path.endswith("/"):
                    continue  # "x/" matches x only as a directory: a path below it, or "x/" itself
                if anchored:
                    if fnmatch.fnmatchcase("/".join(parts[:n]), pat):
                        return True
                elif fnmatch.fnmatchcase(parts[n - 1], pat):
                    return True
        return False

    def exists(self, path):
        """True when path (a file, a directory, or a pattern) names something in the tree."""
        path = path.split("#")[0]
        # <placeholder>, and NNN before "_" (a migration number), stand for any name.
        pattern = re.sub(r"\bN{2,}(?=_)", "*", re.sub(r"<[^<>]*>", "*", path))
        return all(self._exists_one(p) for p in _expand_braces(pattern))

    def _exists_one(self, p):
        full = os.path.join(self.root, p)
        if any(ch in p for ch in "*?["):
            # A pattern matches a file, or lies in what git ignores (bench/results/<time>.json).
            return bool(glob.glob(full)) or self.ignored(re.sub(r"[*?]|\[[^\]]*\]", "x", p))
        if os.path.exists(full) or self.ignored(p.rstrip("/")) or self.ignored(p.rstrip("/") + "/"):
            return True
        # "sql/011" names migration 011 (sql/011_authz_in_statement.sql).
        return bool(re.search(r"/\d+$", p)) and bool(glob.glob(full + "_*"))


# ---- Markdown ----------------------------------------------------------------------------------

def markdown_prose(text, spans=True):
    """text with fenced and indented code blocks and (spans) `code spans` blanked out (lines kept)."""
    out, fence, prev_blank = [], None, True
    for line in text.split("\n"):
        s = line.lstrip()
        if fence:
            out.append("")
            if s.startswith(fence):
                fence = None
            continue
        if s.startswith("```") or s.startswith("~~~"):
            fence = s[:3]
            out.append("")
            continue
        if line.startswith(("    ", "\t")) and prev_blank:
            out.append("")  # an indented code block (prev_blank stays true through it)
            continue
        prev_blank = not line.strip()
        out.append(re.sub(r"(`+)(.+?)\1", lambda m: " " * len(m.group(0)), line) if spans else line)
    return "\n".join(out)


def slug(heading):
    """GitHub's anchor for a heading."""
    s = re.sub(r"<[^>]+>", "", heading).strip().lower()
    s = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", s)
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def anchors(text):
    seen, out = {}, set()
    for line in markdown_prose(text, spans=False).split("\n"):
        m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            base = slug(m.group(1))
            k = seen.get(base, 0)
            seen[base] = k + 1
            out.add(base if k == 0 else "%s-%d" % (base, k))
    out.update(re.findall(r"<a\s+(?:id|name)=\"([^\"]+)\"", text))
    return out


_MD_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_MD_REF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)


def markdown_links(text):
    prose = markdown_prose(text)
    found = []
    for rx in (_MD_LINK, _MD_REF):
        for m in rx.finditer(prose):
            found.append((prose.count("\n", 0, m.start()) + 1, m.group(1)))
    return sorted(found)


def check_markdown(root, tree, files, problems):
    cache = {}
    for f in markdown_files(files):
        text = read_text(root, f)
        if text is None:
            continue
        for line, target in markdown_links(text):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("//"):
                continue  # http:, https:, mailto:
            path, _, anchor = target.partition("#")
            if path.startswith("/"):
                problems.append("%s:%d: %s: an absolute link; write it relative to the file" % (f, line, target))
                continue
            rel = os.path.normpath(os.path.join(os.path.dirname(f), path)) if path else f
            if rel.startswith(".."):
                problems.append("%s:%d: %s: leads outside the repository" % (f, line, target))
                continue
            if path and not tree.exists(rel):
                problems.append("%s:%d: %s: no such file (%s)" % (f, line, target, rel))
                continue
            if anchor and rel.endswith(".md") and os.path.isfile(os.path.join(root, rel)):
                if rel not in cache:
                    cache[rel] = anchors(read_text(root, rel) or "")
                if anchor not in cache[rel]:
                    problems.append("%s:%d: %s: %s has no heading with anchor #%s" % (f, line, target, rel, anchor))


def read_allowed(path):
    """The paths of the allow-list: the first word of each line that is not a comment."""
    allowed = set()
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                words = line.split("#", 1)[0].split()
                if words:
                    allowed.add(words[0])
    return allowed


def check_paths(root, tree, files, problems, allowed=frozenset()):
    tops = top_dirs(files)
    for f in markdown_files(files) + source_files(files):
        text = read_text(root, f)
        if text is None:
            continue
        prose = text if f.endswith(".md") else comments_of(f, text)
        for line, path in paths_in(prose, tops):
            if path not in allowed and not tree.exists(path):
                problems.append("%s:%d: %s: no such path in the tree" % (f, line, path))


def check_outside(root, files, problems):
    for f in sorted(set(markdown_files(files) + source_files(files))):
        text = read_text(root, f)
        if text is None:
            continue
        for rx, what in OUTSIDE:
            for m in rx.finditer(text):
                problems.append("%s:%d: %s: %s" % (f, text.count("\n", 0, m.start()) + 1, m.group(0), what))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--srcdir", default=".")
    ap.add_argument("--allow", default=None, help="default: SRCDIR/tests/lint/links-allowed")
    args = ap.parse_args(argv)
    root = os.path.abspath(args.srcdir)
    allowed = read_allowed(args.allow or os.path.join(root, "tests", "lint", "links-allowed"))
    files = tree_files(root)
    tree = Tree(root)
    failed = False
    for name, run in (("links-markdown", lambda p: check_markdown(root, tree, files, p)),
                      ("links-paths", lambda p: check_paths(root, tree, files, p, allowed)),
                      ("links-outside", lambda p: check_outside(root, files, p))):
        problems = []
        run(problems)
        for p in sorted(set(problems), key=lambda s: (s.split(":")[0], int(s.split(":")[1]), s)):
            print(p)
        print("%s: %s" % ("FAIL" if problems else "PASS", name))
        failed = failed or bool(problems)
    sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
