"""Benchmark perfsite on a synthetic corpus (not a test: prints a table and writes JSON).

    python bench/benchmark.py --forms 10000 --json bench-results/10000.json

Measures, each in a fresh process so peak RSS is per step: ``check``; cold build;
no-change rebuild; one-record rebuild (the first one also makes the standby copy of the
site that later builds update in place of a full copy); a second one-record rebuild (the
steady state of editing); output size. In the same run it times a minimal
reference pipeline (C YAML loader + markdown-it + Jinja + dict charts + write) on the
same corpus, so every result is also a ratio that means something on a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import write_corpus  # noqa: E402

REFERENCE = r'''
import json, sys, time
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
    html = page.render(name=path.parent.name, d=d, functions=md.render(d["functions"]), chart=chart)
    target = out / path.parent.name / str(d["year"]) / "index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")
'''


def timed(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS in MiB of this one command (and its children)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        if child.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(command)} failed:\n{err.read().decode()[-3000:]}")
    return seconds, usage.ru_maxrss // 1024


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run(forms: int, workdir: Path, search: bool = True) -> dict:
    project = write_corpus(workdir / "project", forms, search=search)
    site = project / "site"
    perfsite = [sys.executable, "-m", "generator"]
    results: dict = {"forms": forms, "search": search, "cpus": os.cpu_count(), "python": sys.version.split()[0]}
    results["check_s"], results["check_rss_mb"] = timed(perfsite + ["check", "-p", str(project)])
    results["cold_build_s"], results["cold_build_rss_mb"] = timed(perfsite + ["build", "-q", "-p", str(project)])
    results["no_change_rebuild_s"], _ = timed(perfsite + ["build", "-q", "-p", str(project)])
    records = sorted((project / "content/departments").glob("*/[0-9]*.yaml"))
    for key, record in (("one_record_rebuild", records[0]), ("one_record_again", records[len(records) // 2])):
        text = record.read_text(encoding="utf-8")
        assert "units: 1" in text, record
        record.write_text(text.replace("units: 1", "units: 2", 1), encoding="utf-8")
        results[f"{key}_s"], results[f"{key}_rss_mb"] = timed(perfsite + ["build", "-q", "-p", str(project)])
    results["site_mb"] = round(folder_size(site) / 1024 / 1024, 1)
    results["site_files"] = sum(1 for p in site.rglob("*") if p.is_file())
    reference_out = workdir / "reference-out"
    script = workdir / "reference.py"
    script.write_text(REFERENCE, encoding="utf-8")
    results["reference_s"], results["reference_rss_mb"] = timed(
        [sys.executable, str(script), str(project), str(reference_out)])
    for key in ("check_s", "cold_build_s", "no_change_rebuild_s", "one_record_rebuild_s", "one_record_again_s"):
        results[key.replace("_s", "_vs_reference")] = round(results[key] / results["reference_s"], 2)
        results[key] = round(results[key], 3)
    results["reference_s"] = round(results["reference_s"], 3)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=1000)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the corpus and output folder")
    parser.add_argument("--no-search", action="store_true", help="build without the Pagefind search index")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="perfsite-bench-"))
    try:
        results = run(args.forms, workdir, search=not args.no_search)
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    width = max(map(len, results))
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
