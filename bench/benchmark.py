"""Benchmark perfsite on a synthetic corpus (not a test: prints a table and writes JSON).

    python bench/benchmark.py --forms 10000 --repeat 3 --json bench-results/10000.json

Each repeat, on a fresh copy of the corpus, runs the real command line in a child process:
``check``; cold build; no-change build; one-record edit; a second one-record edit (the
steady state of editing: the first also makes the standby copy later builds update); then
``build --watch`` started on the built site, and edits of three more records, each put back
(save → the new site in place, as a reader would get it). Every time is reported as the
median and min–max over the repeats.

It checks what it timed, and exits 1 when a check fails: the no-change build said the site
was up to date and touched no output file; each edit rebuilt exactly the edited department
(by the build's own summary and by which output files changed); the final site is byte for
byte the site a clean build of the same content makes.

Memory is the peak of the whole process tree (workers included): the summed PSS of the
command and its live descendants, sampled from /proc, and never below the largest single
process's peak RSS as ``wait4`` reports it (which covers children that already ended).

Two references put the times in proportion; neither is a competitor doing the same work. The
yardstick is a minimal pipeline (C YAML loader + markdown-it + Jinja + a chart as JSON + one
file per form, nothing else) run on the same corpus: it measures how fast this machine is
today, so ``×yardstick`` ratios compare across machines and noisy runs. Hugo, when ``hugo``
is on PATH, builds one plain markdown page per form with the form's indicator table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import write_corpus, write_hugo_site  # noqa: E402

REFERENCE = r'''
import json, sys
from pathlib import Path
import yaml, jinja2
from markdown_it import MarkdownIt
project, out = Path(sys.argv[1]), Path(sys.argv[2])
md = MarkdownIt("commonmark", {"html": False})
env = jinja2.Environment(autoescape=True)
page = env.from_string("<html><body><h1>{{ name }} {{ d.year }}</h1>{{ functions|safe }}<table>"
    "{% for i in d.indicators %}<tr><td>{{ i.level1 }}</td><td>{{ i.content }}</td><td>{{ i.target }}</td>"
    "<td>{{ i.actual }}</td><td>{{ i.weight }}</td><td>{{ i.score }}</td></tr>{% endfor %}</table>"
    "<script type='application/json'>{{ chart }}</script></body></html>")
for path in sorted((project / "content/departments").glob("*/[0-9]*.yaml")):
    d = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    chart = json.dumps({"data": [{"type": "bar", "x": [i["content"] for i in d["indicators"]],
                                  "y": [i["score"] for i in d["indicators"]]}]}, ensure_ascii=False)
    prose = d.get("functions") or d["goals"]["planned"]  # a project form has no functions
    html = page.render(name=path.parent.name, d=d, functions=md.render(prose), chart=chart)
    target = out / path.parent.name / path.stem / "index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")
'''

STEPS = [("check", "check"), ("cold_build", "cold build"), ("no_change_rebuild", "no-change build"),
         ("one_record_rebuild", "one-record edit"), ("one_record_again", "one-record edit again")]
MEMORY_METHOD = ("peak of the summed PSS of the command and its live descendants (sampled from /proc every "
                 "20 ms), and never below the largest single process's peak RSS (wait4, which covers ended "
                 "children); MiB")
MARKER = ".perfsite-output"
NO_CHANGE, ONE_RECORD, SAME_BYTES = ("no_change_did_no_work", "one_record_rebuilt_one_department",
                                     "same_bytes_as_clean_build")
REBUILT = re.compile(r"\((\d+) of (\d+) departments rebuilt")


class BenchmarkError(Exception):
    """A command failed or a check of what was timed did not hold."""


def _descendants(root: int) -> list[int]:
    """``root`` and every live process below it (one pass over /proc: no children files here)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    ppid = int(stat.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, ()))
    return found


def _memory_kib(pid: int) -> int:
    """Proportional set size (shared pages split between sharers, so forked workers add up)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
            for line in rollup:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class TreeSampler(threading.Thread):
    """Samples the summed memory of a process tree until stopped; ``peak_kib`` is the largest sum."""

    def __init__(self, pid: int, interval: float = 0.02):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_kib, self.samples = pid, interval, 0, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak_kib = max(self.peak_kib, sum(_memory_kib(p) for p in _descendants(self.pid)))
            self.samples += 1
            self.done.wait(self.interval)


def timed(command: list[str], cwd: Path | None = None) -> dict:
    """Run ``command``: wall seconds, peak tree memory, largest process's RSS (MiB) and its stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, cwd=cwd)
        sampler = TreeSampler(child.pid)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        sampler.done.set()
        sampler.join()
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            raise BenchmarkError(f"{' '.join(command)} exited {child.returncode}:\n{err.read().decode()[-3000:]}")
        largest = usage.ru_maxrss / 1024
        return {"s": seconds, "tree_mb": max(sampler.peak_kib / 1024, largest), "largest_mb": largest,
                "stdout": out.read().decode("utf-8", "replace")}


def snapshot(site: Path, previous: dict | None = None) -> dict[str, tuple[int, int, int, str]]:
    """Inode, size, mtime and SHA-256 of every output file. A rewritten file gets a new inode or
    mtime; a file whose stat is as in ``previous`` keeps its digest there (no need to read it)."""
    previous = previous or {}
    found = {}
    for path in site.rglob("*"):
        if path.is_file() and path.name != MARKER:
            rel, st = path.relative_to(site).as_posix(), path.stat()
            stat = (st.st_ino, st.st_size, st.st_mtime_ns)
            known = previous.get(rel)
            if known is not None and known[:3] == stat:
                found[rel] = known
            else:
                with open(path, "rb") as data:
                    found[rel] = (*stat, hashlib.file_digest(data, "sha256").hexdigest())
    return found


def differing(one: dict, other: dict) -> list[str]:
    """Files whose bytes differ between two snapshots (or that only one has)."""
    return sorted(p for p in one.keys() | other.keys() if (one.get(p) or ())[3:] != (other.get(p) or ())[3:])


def check_no_change(stdout: str, before: dict, after: dict) -> list[str]:
    """Problems with a build that should have found nothing to do (an empty list: it did no work)."""
    problems = []
    if "is up to date" not in stdout:
        problems.append(f"the no-change build did not report the site up to date: {stdout.strip()[:300]!r}")
    touched = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    if touched:
        problems.append(f"the no-change build touched {len(touched)} output files, e.g. {touched[:3]}")
    return problems


def check_one_record(stdout: str, slug: str, before: dict, after: dict) -> list[str]:
    """Problems with an edit of one record of ``slug`` that should have rebuilt that department only.

    Judged by the build's own summary and by bytes, not inodes: a file the standby copy already
    had with the right bytes comes back as that copy's inode, which is no work done.
    """
    problems = []
    match = REBUILT.search(stdout)
    if not match or match.group(1) != "1":
        problems.append(f"the build after editing one record of {slug} did not report '1 of N departments "
                        f"rebuilt': {stdout.strip()[:300]!r}")
    changed = {p.split("/")[1] for p in differing(before, after)
               if p.count("/") >= 2 and p.split("/")[0] in ("departments", "data")}
    if changed != {slug}:
        problems.append(f"the edit of one record of {slug} changed the pages of departments {sorted(changed)}")
    return problems


def check_same_bytes(site: dict, clean: dict) -> list[str]:
    """Problems when the incrementally built site is not byte for byte the clean build."""
    differ = differing(site, clean)
    if differ:
        return [f"the site after the edits differs from a clean build of the same content in {len(differ)} "
                f"files, e.g. {differ[:3]}"]
    return []


def edit_record(record: Path) -> None:
    text = record.read_text(encoding="utf-8")
    if "units: 1\n" not in text:
        raise BenchmarkError(f"{record}: no 'units: 1' to edit")
    record.write_text(text.replace("units: 1\n", "units: 2\n", 1), encoding="utf-8")


def one_repeat(corpus: Path, folder: Path, problems: dict[str, list[str]]) -> tuple[dict[str, dict], dict]:
    """Every perfsite step on a fresh copy of the corpus: measurements and the final site's snapshot
    (failed checks go to ``problems``)."""
    project = folder / "project"
    shutil.copytree(corpus / "content", project / "content")
    site = project / "site"
    perfsite = [sys.executable, "-m", "generator"]
    build = perfsite + ["build", "-p", str(project)]
    runs = {"check": timed(perfsite + ["check", "-q", "-p", str(project)]), "cold_build": timed(build)}
    before = snapshot(site)
    runs["no_change_rebuild"] = timed(build)
    after = snapshot(site, before)
    problems[NO_CHANGE] += check_no_change(runs["no_change_rebuild"]["stdout"], before, after)
    records = sorted((project / "content/departments").glob("*/[0-9]*.yaml"))
    for key, record in (("one_record_rebuild", records[0]), ("one_record_again", records[len(records) // 2])):
        before = after
        edit_record(record)
        runs[key] = timed(build)
        after = snapshot(site, before)
        problems[ONE_RECORD] += check_one_record(runs[key]["stdout"], record.parent.name, before, after)
    picked = [records[(4 * i + 1) * len(records) // (4 * RESIDENT_RECORDS)] for i in range(RESIDENT_RECORDS)]
    runs["resident"] = resident_edits(project, [r for r in picked if r not in (records[0], records[len(records) // 2])],
                                      problems)  # records the edits above left as they were
    return runs, snapshot(site, after)


RESIDENT_RECORDS = 3  # each edited and put back: six builds, and the content ends as it began


class Lines(threading.Thread):
    """The lines a child process prints, gathered as they come."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream, self.lines = stream, []
        self.start()

    def run(self) -> None:
        for line in self.stream:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, count: int, text: str, child: subprocess.Popen, timeout: float = 600.0) -> None:
        deadline = time.monotonic() + timeout
        while sum(text in line for line in self.lines) < count:
            if child.poll() is not None or time.monotonic() > deadline:
                raise BenchmarkError(f"perfsite build --watch: no '{text}' line #{count}; it printed "
                                     f"{self.lines[-5:]!r}")
            time.sleep(0.002)


def resident_edits(project: Path, records: list[Path], problems: dict[str, list[str]]) -> dict:
    """``perfsite build --watch`` started on the built site (its first build finds nothing to
    do and reads every record), then one-record edits, each put back: the time from saving the
    record to the new site being in place (the output folder swapped: what a reader then
    gets), each build's own time, and the peak memory of the resident process."""
    site = project / "site"
    command = [sys.executable, "-m", "generator", "build", "--watch", "-p", str(project)]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
    out, err = Lines(child.stdout), Lines(child.stderr)
    sampler = TreeSampler(child.pid)
    sampler.start()
    latencies, builds = [], []
    try:
        out.wait_for(1, "watching for changes", child)
        start_s = time.perf_counter() - started
        for index, record in enumerate(records):
            for forward in (True, False):
                swapped = os.stat(site).st_ino
                built = sum("watching for changes" in line for line in out.lines)
                saved = time.perf_counter()
                if forward:
                    edit_record(record)
                else:
                    undo_edit(record)
                while os.stat(site).st_ino == swapped:
                    if child.poll() is not None:
                        raise BenchmarkError(f"perfsite build --watch ended: {err.lines[-5:]!r}")
                    time.sleep(0.001)
                latencies.append(time.perf_counter() - saved)
                out.wait_for(built + 1, "watching for changes", child)
                summary = [line for line in out.lines if line.startswith("built ")][-1]
                match, seconds = REBUILT.search(summary), re.search(r" in ([0-9.]+) s", summary)
                builds.append(float(seconds.group(1)) if seconds else float("nan"))
                if not match or match.group(1) != "1":
                    problems[ONE_RECORD].append(f"perfsite build --watch, edit {index}: {summary!r}")
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
        sampler.done.set()
        sampler.join()
    if child.returncode != 0:
        raise BenchmarkError(f"perfsite build --watch exited {child.returncode}: {err.lines[-5:]!r}")
    return {"start_s": start_s, "latencies": latencies, "builds": builds, "tree_mb": sampler.peak_kib / 1024}


def undo_edit(record: Path) -> None:
    text = record.read_text(encoding="utf-8")
    record.write_text(text.replace("units: 2\n", "units: 1\n", 1), encoding="utf-8")


def clean_build(corpus: Path, folder: Path) -> dict:
    """Snapshot of a from-nothing build of the corpus with the benchmark's two edits applied."""
    project = folder / "clean"
    shutil.copytree(corpus / "content", project / "content")
    records = sorted((project / "content/departments").glob("*/[0-9]*.yaml"))
    edit_record(records[0])
    edit_record(records[len(records) // 2])
    timed([sys.executable, "-m", "generator", "build", "-q", "-p", str(project)])
    site = snapshot(project / "site")
    shutil.rmtree(project)
    return site


def hugo_runs(corpus: Path, folder: Path, repeat: int) -> list[dict] | None:
    """``hugo --quiet`` from cold on one markdown page per form, ``repeat`` times (None: no hugo)."""
    hugo = shutil.which("hugo")
    if hugo is None:
        return None
    site = write_hugo_site(folder / "hugo", corpus)
    runs = []
    for _ in range(repeat):
        for cold in ("public", "resources", ".hugo-cache"):
            shutil.rmtree(site / cold, ignore_errors=True)
        runs.append(timed([hugo, "--quiet", "--cacheDir", str(site / ".hugo-cache")], cwd=site))
        if not (site / "public/departments").is_dir():
            raise BenchmarkError(f"hugo wrote no department pages in {site / 'public'}")
    return runs


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarise(name: str, runs: list[dict], results: dict) -> None:
    times = spread([r["s"] for r in runs])
    results[f"{name}_s"] = round(times["median"], 3)
    results[f"{name}_s_min"], results[f"{name}_s_max"] = round(times["min"], 3), round(times["max"], 3)
    results[f"{name}_tree_mb"] = round(statistics.median(r["tree_mb"] for r in runs), 1)
    results[f"{name}_largest_mb"] = round(statistics.median(r["largest_mb"] for r in runs), 1)


KINDS = [  # (kind, how a site file is recognised), first match wins
    ("form pages", re.compile(r"departments/[^/]+/\d{4}/(?:[^/]+/)?index\.html$")),
    ("department pages", re.compile(r"departments/[^/]+/index\.html$")),
    ("record YAML", re.compile(r"data/(?!by-year/)[^/]+/[^/]+\.yaml$")),
    ("form CSV", re.compile(r"data/(?!by-year/)[^/]+/[^/]+\.csv$")),
    ("bulk data", re.compile(r"data/")),
    ("search index", re.compile(r"pagefind(?:-\d+)?/")),  # one bundle per ~1,000 forms: pagefind-2/, …
    ("pages listing many forms", re.compile(r".*\.html$")),
    ("assets", re.compile(r"assets/")),
    ("other", re.compile(r"")),
]


def bytes_by_kind(site: dict, forms: int) -> dict[str, float]:
    """KB of site per form, by kind of file, and in all with and without the search index."""
    sums = dict.fromkeys([k for k, _ in KINDS], 0)
    for rel, (_ino, size, _mtime, _digest) in site.items():
        sums[next(k for k, pattern in KINDS if pattern.match(rel))] += size
    per_form = {k: round(v / forms / 1024, 2) for k, v in sums.items()}
    per_form["all"] = round(sum(sums.values()) / forms / 1024, 2)
    per_form["all but search"] = round((sum(sums.values()) - sums["search index"]) / forms / 1024, 2)
    return per_form


def run(forms: int, workdir: Path, search: bool = True, repeat: int = 3, years: int = 5, projects: int = 0) -> dict:
    corpus = write_corpus(workdir / "corpus", forms, years=years, search=search, projects=projects)
    forms = sum(1 for _ in (corpus / "content/departments").glob("*/[0-9]*.yaml"))
    results: dict = {"forms": forms, "years": years, "projects_per_department_form": projects, "search": search,
                     "repeat": repeat, "cpus": os.cpu_count(), "python": sys.version.split()[0],
                     "memory": MEMORY_METHOD}
    clean = clean_build(corpus, workdir)
    by_step: dict[str, list[dict]] = {key: [] for key, _ in STEPS}
    problems: dict[str, list[str]] = {NO_CHANGE: [], ONE_RECORD: [], SAME_BYTES: []}
    reference = []
    resident = []
    for i in range(repeat):
        folder = workdir / f"repeat-{i}"
        runs, site = one_repeat(corpus, folder, problems)
        problems[SAME_BYTES] += check_same_bytes(site, clean)
        resident.append(runs.pop("resident"))
        for key, measured in runs.items():
            by_step[key].append(measured)
        if i == 0:
            results["site_mb"] = round(sum(size for _, size, _, _ in site.values()) / 1024 / 1024, 1)
            results["site_files"] = len(site)
            results["kb_per_form"] = bytes_by_kind(site, forms)
            results["largest_files_mb"] = largest_files(site)
        shutil.rmtree(folder)
        reference.append(timed([sys.executable, "-c", REFERENCE, str(corpus), str(workdir / "reference-out")]))
        shutil.rmtree(workdir / "reference-out")
    summarise("reference", reference, results)
    for key, _ in STEPS:
        summarise(key, by_step[key], results)
        results[f"{key}_vs_reference"] = round(results[f"{key}_s"] / results["reference_s"], 2)
    results["resident"] = {
        "start_s": round(statistics.median(r["start_s"] for r in resident), 3),
        "save_to_site_s": {k: round(v, 3) for k, v in spread([x for r in resident for x in r["latencies"]]).items()},
        "build_s": {k: round(v, 3) for k, v in spread([x for r in resident for x in r["builds"]]).items()},
        "edits": sum(len(r["latencies"]) for r in resident),
        "tree_mb": round(max(r["tree_mb"] for r in resident), 1)}
    hugo = hugo_runs(corpus, workdir, repeat)
    if hugo is None:
        results["hugo"] = "not installed"
    else:
        summarise("hugo", hugo, results)
        results["hugo_vs_reference"] = round(results["hugo_s"] / results["reference_s"], 2)
    results["verified"] = {check: not found for check, found in problems.items()}
    results["problems"] = [problem for found in problems.values() for problem in found]
    return results


def largest_files(site: dict, count: int = 5) -> dict[str, float]:
    """The largest files of the site but plotly.js and the bulk downloads (the 2 MB rule's exceptions)."""
    kept = [(size, rel) for rel, (_i, size, _m, _d) in site.items()
            if not rel.startswith("data/") and "plotly" not in rel]
    return {rel: round(size / 1024 / 1024, 2) for size, rel in sorted(kept, reverse=True)[:count]}


def report(results: dict) -> str:
    lines = [f"perfsite benchmark: {results['forms']} forms in {results['years']} year(s), "
             f"{results['projects_per_department_form']} project forms per department form, "
             f"search {'on' if results['search'] else 'off'}, "
             f"{results['cpus']} CPUs, Python {results['python']}, {results['repeat']} repeats, "
             f"site {results['site_files']} files / {results['site_mb']} MiB",
             f"{'step':<24}{'median s':>10}{'min–max s':>18}{'×yardstick':>12}{'tree MiB':>10}{'largest MiB':>13}"]
    rows = [(key, label) for key, label in STEPS] + [("reference", "yardstick (not perfsite)")]
    if "hugo_s" in results:
        rows.append(("hugo", "hugo, comparable pages"))
    for key, label in rows:
        ratio = "" if key == "reference" else f"{results[f'{key}_s'] / results['reference_s']:.2f}"
        span = f"{results[f'{key}_s_min']:.3f}–{results[f'{key}_s_max']:.3f}"
        lines.append(f"{label:<24}{results[f'{key}_s']:>10.3f}{span:>18}{ratio:>12}"
                     f"{results[f'{key}_tree_mb']:>10.1f}{results[f'{key}_largest_mb']:>13.1f}")
    if results.get("hugo") == "not installed":
        lines.append("hugo: not installed")
    resident = results["resident"]
    lines.append(f"perfsite build --watch on the built site: ready in {resident['start_s']:.2f} s; one-record edit, "
                 f"save → new site in place: median {resident['save_to_site_s']['median']:.3f} s "
                 f"({resident['save_to_site_s']['min']:.3f}–{resident['save_to_site_s']['max']:.3f}) over "
                 f"{resident['edits']} edits, the build itself {resident['build_s']['median']:.3f} s; "
                 f"peak memory {resident['tree_mb']:.1f} MiB")
    lines.append(f"memory: {results['memory']}")
    lines.append("yardstick: a minimal pipeline on the same corpus (one page per form, no scoring, audit, "
                 "downloads, search or every-form pages): it measures this machine, it is not a competitor")
    lines.append("KB per form: " + ", ".join(f"{k} {v}" for k, v in results["kb_per_form"].items()))
    lines.append("largest files (MiB; not plotly.js or data/): "
                 + ", ".join(f"{k} {v}" for k, v in results["largest_files_mb"].items()))
    for check, held in results["verified"].items():
        lines.append(f"verified {check.replace('_', ' ')}: {'yes' if held else 'NO'} (every repeat)")
    lines += [f"FAILED: {problem}" for problem in results["problems"]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=1000, help="forms in the corpus (min 10)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of every timing (median, min–max)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the corpus and output folders")
    parser.add_argument("--no-search", action="store_true", help="build without the Pagefind search index")
    parser.add_argument("--years", type=int, default=5, help="years of forms per department (1: a province's year)")
    parser.add_argument("--projects", type=int, default=0,
                        help="project forms beside each department form (the forms are shared out among both)")
    args = parser.parse_args()
    if args.years < 1 or args.projects < 0 or args.repeat < 1:
        parser.error("--years and --repeat must be at least 1, --projects at least 0")
    if args.forms // args.years // (1 + args.projects) < 2:
        parser.error("--forms must make at least two departments (to see one rebuilt): "
                     "forms ≥ 2 × years × (1 + projects)")
    workdir = Path(tempfile.mkdtemp(prefix="perfsite-bench-"))
    try:
        results = run(args.forms, workdir, search=not args.no_search, repeat=args.repeat, years=args.years,
                      projects=args.projects)
    except BenchmarkError as exc:
        print(f"benchmark: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(report(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 1 if results["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
