"""Deliberate bugs the tests must catch: a mutation check of the test suite (not a test).

    python bench/mutate.py            # every mutation; exit 1 if any survives
    python bench/mutate.py --list     # what each one breaks and which tests should catch it
    python bench/mutate.py --only scoring-half-even
    python bench/mutate.py --ref HEAD  # the last commit, not work in progress

The git-tracked files (as they are in the working tree) are copied to a scratch folder. Each
mutation replaces one exact piece of text that must occur exactly once (a mutation whose
anchor is gone or ambiguous stops the run: fix the anchor, do not let it pass silently), runs
the test files it names in the copy, and puts the text back. The copy's ``generator`` and
themes are imported, not this checkout's editable install: the script checks that before
running anything. Each set of test files is first run unmutated, so a failure is known to
come from the mutation. A mutation *survives* when its tests still pass: the suite would not
notice that bug.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str          # where the anchor is; a code move may name several: "a.py|b.py"
    anchor: str        # must occur exactly once in all of them together
    replacement: str
    tests: tuple[str, ...]
    bug: str           # what a user would suffer, one line
    browser: bool = False  # run the browser tests of ``tests`` too
    equivalent: str = ""   # why surviving is right today (the bug cannot show yet); not counted as a survivor


MUTATIONS = [
    Mutation("scoring-half-even", "generator/score/scoring.py",
             "def round_to(value: Decimal | Fraction, places: int, mode: str) -> Decimal:\n",
             "def round_to(value: Decimal | Fraction, places: int, mode: str) -> Decimal:\n"
             "    mode = 'half_even' if mode == 'half_up' else mode\n",
             ("tests/test_scoring.py",), "the half-up profiles round 0.125 to 0.12 (banker's rounding)"),
    Mutation("scoring-execution-uncapped", "generator/score/scoring.py",
             "share = min(max(rate, Fraction(0)), Fraction(1))", "share = max(rate, Fraction(0))",
             ("tests/test_scoring.py",), "over-execution (rate > 100%) earns more than the execution weight"),
    Mutation("scoring-lower-is-better-inverted", "generator/score/scoring.py",
             "        met = a < t or (a == t and not _strict(row, profile, LESS))\n"
             "        ratio = Fraction(1) if a <= ZERO else Fraction(t) / Fraction(a)\n",
             "        met = a > t or (a == t and not _strict(row, profile, LESS))\n"
             "        ratio = Fraction(1) if t <= ZERO else Fraction(a) / Fraction(t)\n",
             ("tests/test_scoring.py",), "a cost indicator (≤ target) is scored as if more were better"),
    Mutation("scoring-na-rescale-divides-by-zero", "generator/score/scoring.py",
             'profile.not_applicable == "rescale" and na_weight < HUNDRED:',
             'profile.not_applicable == "rescale":',
             ("tests/test_scoring.py",), "a form whose indicators are all not applicable (weight 100) crashes"),
    Mutation("audit-tolerance-widened", "generator/score/audit.py",
             "abs(reported - computed) > profile.tolerance", "abs(reported - computed) > profile.tolerance * 10",
             ("tests/test_audit.py",), "reported numbers off by up to ten times the tolerance pass unflagged"),
    Mutation("audit-finding-dropped", "generator/score/audit.py",
             "        where = report.where(path)\n",
             "        if code == 'execution-score-mismatch':\n            return\n        where = report.where(path)\n",
             ("tests/test_audit.py",), "a wrong execution score is never reported"),
    Mutation("escaping-autoescape-off", "generator/site/theme.py", "autoescape=True", "autoescape=False",
             ("tests/test_escaping.py", "tests/test_build.py"),
             "record text is pasted into pages as HTML (script injection)"),
    Mutation("escaping-safe-on-record-field", "themes/default/templates/form.html",
             "{{ ind.reason }}</td>", "{{ ind.reason|safe }}</td>",  # (c.content is escaped before: |safe is a no-op)
             ("tests/test_escaping.py", "tests/test_build.py"),
             "an indicator's reason for a shortfall is pasted into the form page as HTML"),
    Mutation("swap-three-renames", "generator/build/output.py|generator/build/sitefolder.py",
             "renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)",
             "((os.rename(a, f'{a}.swap'), os.rename(b, a), os.rename(f'{a}.swap', b))[-1] or 0)",  # 0: "it worked"
             ("tests/test_build.py", "tests/test_hardening_output.py", "tests/test_nothing_lost.py"),
             "between two renames the site folder is missing: a reader gets 404s, a crash there loses it"),
    Mutation("cache-key-without-strings", "generator/build/stamps.py",
             "    h.update(repr(sorted(theme.strings.items())).encode())\n", "",
             ("tests/test_stamps.py", "tests/test_cache_invalidation.py", "tests/test_incremental.py",
              "tests/test_build_cache.py"),
             "an edited UI string leaves the departments' pages stale"),
    Mutation("cache-key-without-glossary", "generator/build/stamps.py",
             "    h.update(repr(theme.glossary).encode())\n", "",
             ("tests/test_stamps.py", "tests/test_cache_invalidation.py"),
             "an edited glossary leaves the pages that use it stale"),
    Mutation("packaging-without-glossary", "pyproject.toml",
             '"*/theme.yaml", "*/glossary.yaml"]', '"*/theme.yaml"]',
             ("tests/test_packaging.py",), "pip install . ships no glossary: the glossary page is empty"),
    Mutation("serve-binds-everywhere", "generator/cli.py",
             'default="127.0.0.1", help="address to bind', 'default="0.0.0.0", help="address to bind',
             ("tests/test_cli.py", "tests/test_serve.py"), "perfsite serve is reachable from the whole network"),
    Mutation("english-pages-chinese-findings", "themes/default/templates/_macros.html",
             "{{ f.message_en if english else f.message }}", "{{ f.message }}",
             ("tests/test_build.py",), "an English site shows its audit findings in Chinese"),
    Mutation("glossary-never-read", "generator/site/theme.py", "_read_glossary(folders)", "()",
             ("tests/test_build.py",), "the glossary page is empty whatever glossary.yaml says"),
    Mutation("no-change-build-rebuilds", "generator/build/run.py",
             "if state is not None and state.inputs == inputs:", "if False:",
             ("tests/test_benchmark_runs.py",), "a build with nothing changed rebuilds the whole site"),
]

PYTEST = ["-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]


class MutationError(Exception):
    """The check itself cannot be trusted (stale anchor, wrong import, failing baseline)."""


def copy_repository(target: Path, untracked: bool, ref: str | None) -> None:
    """The files git knows, from the working tree (and, if asked, the untracked ones it does not
    ignore) or as commit ``ref`` has them, made a git repository again (tests list the tracked
    files with ``git ls-files``)."""
    target.mkdir(parents=True)
    if ref:
        archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=REPO, capture_output=True)
        if archive.returncode != 0:
            raise MutationError(f"git archive {ref}: {archive.stderr.decode().strip()}")
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(target, filter="data")
    else:
        listing = ["git", "ls-files", "-z", "--cached"] + (["--others", "--exclude-standard"] if untracked else [])
        names = subprocess.run(listing, cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
        for rel in filter(None, names):
            source = REPO / rel
            if not source.is_file():  # deleted in the working tree
                continue
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / rel, follow_symlinks=False)
    for command in (["git", "init", "-q"], ["git", "add", "-A"]):
        subprocess.run(command, cwd=target, check=True, capture_output=True)


def environment(copy: Path, scratch: Path) -> dict[str, str]:
    """Imports resolve to the copy: ``generator`` from it, ``perfsite_themes`` through a link to its
    themes/ (the editable install maps that name to this checkout's themes/)."""
    shim = scratch / "shim"
    shim.mkdir(exist_ok=True)
    link = shim / "perfsite_themes"
    if not link.exists():
        link.symlink_to(copy / "themes", target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PYTHONPATH=f"{copy}{os.pathsep}{shim}", PYTHONDONTWRITEBYTECODE="1",
               XDG_CACHE_HOME=str(scratch / "cache"), TMPDIR=str(scratch / "tmp"))
    (scratch / "tmp").mkdir(exist_ok=True)
    return env


def check_imports(copy: Path, env: dict[str, str]) -> None:
    probe = "import generator, perfsite_themes, os; print(generator.__file__); " \
            "print(os.path.realpath(perfsite_themes.__path__[0]))"
    found = subprocess.run([sys.executable, "-c", probe], cwd=copy, env=env, capture_output=True, text=True)
    paths = found.stdout.split()
    if found.returncode != 0 or len(paths) != 2 or not all(Path(p).resolve().is_relative_to(copy) for p in paths):
        raise MutationError(f"the copy's code is not the one imported: {found.stdout.strip()} {found.stderr.strip()}")


def anchor_counts(root: Path, mutation: Mutation) -> dict[str, int]:
    """How often the anchor occurs in each of the mutation's files below ``root``."""
    counts = {}
    for rel in mutation.file.split("|"):
        path = root / rel
        counts[rel] = path.read_text(encoding="utf-8").count(mutation.anchor) if path.is_file() else 0
    return counts


def check_anchor(copy: Path, mutation: Mutation) -> tuple[str, str]:
    """The file holding the anchor and its text; raises unless the anchor occurs exactly once."""
    counts = anchor_counts(copy, mutation)
    if sum(counts.values()) != 1:
        raise MutationError(f"{mutation.name}: the anchor occurs {sum(counts.values())} times in {mutation.file} "
                            f"(must be once; update it in bench/mutate.py): {mutation.anchor!r}")
    rel = next(rel for rel, count in counts.items() if count)
    return rel, (copy / rel).read_text(encoding="utf-8")


def run_tests(copy: Path, env: dict[str, str], mutation: Mutation) -> tuple[int, str, float]:
    """Exit status, the first failure (or pytest's last line) and seconds."""
    marks = [] if mutation.browser else ["-m", "not browser"]
    tests = [t for t in mutation.tests if (copy / t).is_file()]
    if not tests:
        return 4, f"none of its test files exist: {' '.join(mutation.tests)}", 0.0
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, *PYTEST, *marks, *tests], cwd=copy, env=env,
                              capture_output=True, text=True, timeout=1800)
    except subprocess.TimeoutExpired:
        return -1, "timed out after 1800 s", time.perf_counter() - started
    lines = done.stdout.strip().splitlines() or [done.stderr.strip()[-300:]]
    first = next((line for line in lines if line.startswith(("FAILED", "ERROR"))), lines[-1])
    return done.returncode, first[:200], time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this mutation (repeatable)")
    parser.add_argument("--untracked", action="store_true",
                        help="also copy untracked files git does not ignore (tests still being written)")
    parser.add_argument("--ref", metavar="COMMIT", help="mutate the files as this commit has them (e.g. HEAD) "
                        "instead of the working tree")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy")
    args = parser.parse_args()
    if args.list:
        for m in MUTATIONS:
            found = sum(anchor_counts(REPO, m).values())
            state = "" if found == 1 else f"  [ANCHOR FOUND {found} TIMES: fix it]"
            print(f"{m.name:<36} {m.file}: {m.bug}{state}\n{'':<36} to be caught by: {' '.join(m.tests)}")
            if m.equivalent:
                print(f"{'':<36} expected to survive today: {m.equivalent}")
        return 0
    known = {m.name for m in MUTATIONS}
    unknown = [name for name in args.only or () if name not in known]
    if unknown:
        parser.error(f"no mutation named {', '.join(unknown)} (see --list)")
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
    scratch = Path(tempfile.mkdtemp(prefix="perfsite-mutate-"))
    copy = scratch / "repo"
    try:
        copy_repository(copy, args.untracked, args.ref)
        env = environment(copy, scratch)
        check_imports(copy, env)
        originals = {m.name: check_anchor(copy, m) for m in chosen}  # every anchor checked before any run
        verdicts = run_all(copy, env, chosen, originals)
    except MutationError as exc:
        print(f"mutate: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            print(f"kept {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    survived = [name for name, verdict in verdicts.items() if verdict == "SURVIVED"]
    unjudged = [name for name, verdict in verdicts.items() if verdict == "UNJUDGED"]
    expected = [name for name, verdict in verdicts.items() if verdict == "expected"]
    print(f"{len(chosen) - len(survived) - len(unjudged) - len(expected)} of {len(chosen)} mutations caught"
          + (f"; survived as expected (no bug yet): {', '.join(expected)}" if expected else "")
          + (f"; SURVIVED: {', '.join(survived)}" if survived else "")
          + (f"; UNJUDGED (their tests fail unmutated): {', '.join(unjudged)}" if unjudged else ""))
    return 1 if survived else 2 if unjudged else 0


def run_all(copy: Path, env: dict[str, str], chosen: list[Mutation],
            originals: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Each mutation's verdict: caught, SURVIVED, or why it could not be judged."""
    baselines: dict[tuple, tuple[int, str]] = {}
    verdicts = {}
    for m in chosen:
        missing = [t for t in m.tests if not (copy / t).is_file()]
        if missing:
            print(f"note: {m.name}: {', '.join(missing)} not in the copy; running the others", flush=True)
        suite = (m.tests, m.browser)
        if suite not in baselines:
            code, first, _ = run_tests(copy, env, m)
            baselines[suite] = (code, first)
        if baselines[suite][0] != 0:
            verdicts[m.name] = "UNJUDGED"
            print(f"{'UNJUDGED':<9}{m.name:<36}{'':>8}  {' '.join(m.tests)}\n{'':<9}these tests fail without any "
                  f"mutation: {baselines[suite][1]}", flush=True)
            continue
        rel, original = originals[m.name]
        (copy / rel).write_text(original.replace(m.anchor, m.replacement), encoding="utf-8")
        try:
            code, first, seconds = run_tests(copy, env, m)
        finally:
            (copy / rel).write_text(original, encoding="utf-8")
        # 1: a test failed; 2: collection failed (the mutated code did not even import)
        verdict = {0: "SURVIVED", 1: "caught", 2: "caught"}.get(code, "UNJUDGED")
        detail = f"SURVIVED: {m.bug}" if code == 0 else first if code in (1, 2) else f"pytest exited {code}: {first}"
        if m.equivalent and code == 0:
            verdict, detail = "expected", f"survives as expected: {m.equivalent}"
        elif m.equivalent and verdict == "caught":
            detail += " (now caught: drop its equivalent= note)"
        verdicts[m.name] = verdict
        print(f"{verdict:<9}{m.name:<36}{seconds:6.0f} s  {' '.join(m.tests)}\n{'':<9}{detail}", flush=True)
    return verdicts


if __name__ == "__main__":
    sys.exit(main())
