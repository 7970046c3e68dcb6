#!/usr/bin/env python3
"""tests/lint/distfiles.py: the release tarball holds every file git tracks (issue 16 item 6).

A user builds, installs and tests from the tarball alone (README.md, the guides in docs/,
./dev.sh test), so a tracked file that `make dist` leaves out is a bug: a new directory nobody
added to Makefile.am's EXTRA_DIST, a new migration missing from dist_pkgsql_DATA. This compares
`git ls-files` of the source tree with the tarball's members and fails on any tracked file the
tarball lacks, except those in EXCLUDE (files only a git checkout uses).

    distfiles.py [--srcdir DIR] TARBALL

Makefile.am runs it as distcheck-hook, so `make distcheck` fails on a missing file. Outside a git
checkout (a tree unpacked from the tarball itself) there is nothing to compare with: it says so
and passes. Prints "PASS: distfiles" or the missing files and "FAIL: distfiles"; exit status 0 on
a pass. tests/lint/test_lint_tools.py tests missing() and main() on a small repository.
"""
import argparse
import os
import subprocess
import sys
import tarfile

# Tracked files the tarball does without, each with its reason.
EXCLUDE = {
    ".gitignore": "git's own: a tarball is not a checkout",
}


def missing(tracked, members, exclude=EXCLUDE):
    """The tracked paths (relative to the source tree) that are neither in members (the tarball's
    paths, relative to its top directory) nor excluded, sorted."""
    have = set(members)
    return sorted(p for p in tracked if p not in have and p not in exclude)


def tracked_files(srcdir):
    """git ls-files of srcdir (relative paths, files present in the tree only), or None when srcdir
    is not the top of a git work tree."""
    try:
        top = subprocess.run(["git", "-C", srcdir, "rev-parse", "--show-toplevel"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    if os.path.realpath(top.stdout.strip()) != os.path.realpath(srcdir):
        return None  # a tree unpacked inside some other repository
    out = subprocess.run(["git", "-C", srcdir, "ls-files", "-z"], stdout=subprocess.PIPE,
                         check=True).stdout.decode("utf-8", "surrogateescape")
    # A file deleted but not yet committed is not the tarball's business.
    return [p for p in out.split("\0") if p and os.path.lexists(os.path.join(srcdir, p))]


def tarball_members(path):
    """The tarball's file paths with its top directory (teamboard-X.Y.Z/) taken off."""
    with tarfile.open(path) as tar:
        names = [m.name for m in tar.getmembers() if not m.isdir()]
    return [n.split("/", 1)[1] for n in names if "/" in n]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--srcdir", default=".")
    ap.add_argument("tarball")
    args = ap.parse_args(argv)
    tracked = tracked_files(args.srcdir)
    if tracked is None:
        print("distfiles: %s is not a git checkout: nothing to compare the tarball with"
              % args.srcdir)
        print("PASS: distfiles")
        return 0
    lost = missing(tracked, tarball_members(args.tarball))
    for p in lost:
        print("distfiles: %s is tracked by git but not in %s (Makefile.am: EXTRA_DIST or a "
              "dist_*_DATA list; or tests/lint/distfiles.py's EXCLUDE, with the reason)"
              % (p, os.path.basename(args.tarball)))
    print("%s: distfiles" % ("FAIL" if lost else "PASS"))
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
