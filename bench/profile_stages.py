"""Where a department's build time goes, stage by stage, in milliseconds per form (not a test).

    python bench/profile_stages.py --forms 2000

Builds every department of a synthetic corpus in this one process (no worker pool, so the
numbers are per core) with a timer around each stage of :func:`generator.build.shards.build_unit`:
read, score, audit, each page template, downloads, file creation, cache record. Then times
the steps of a one-record rebuild of the whole site. Use it to see what a change did to the
cold build's per-form cost and to the edit loop, beside ``benchmark.py``'s totals.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import write_corpus  # noqa: E402

from generator.build import run as build_module  # noqa: E402
from generator.build import shards  # noqa: E402
from generator.build.cache import BuildCache  # noqa: E402
from generator.build.stamps import fragment_templates, template_closures  # noqa: E402
from generator.read.config import load_config  # noqa: E402
from generator.read.records import list_departments  # noqa: E402
from generator.score import check  # noqa: E402
from generator.site import pipeline  # noqa: E402
from generator.site.render import asset_files, configure_env  # noqa: E402
from generator.site.theme import load_theme  # noqa: E402

STAGES = [(check, "read_department_folder"), (check, "score_report"), (check, "audit_report"),
          (pipeline, "form_outputs"), (shards, "write_new"), (shards, "digest")]
STEPS = [(build_module, "output_stats"), (build_module, "input_stamp"), (shards, "run_shards"),
         (shards, "write_bulk"), (pipeline, "feed_xml"), (shards.BuildCache, "save_state")]


def timed(owner, name: str, totals: dict) -> None:
    """Replace ``owner.name`` by a wrapper that adds its time to ``totals[name]``."""
    real = getattr(owner, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            totals[name] += time.perf_counter() - started

    setattr(owner, name, wrapper)


def per_form_stages(project: Path) -> tuple[float, dict[str, float], int]:
    totals: dict[str, float] = defaultdict(float)
    for owner, name in STAGES:
        timed(owner, name, totals)
    timed(BuildCache, "save_unit", totals)
    render = shards.render_page

    def render_timed(theme, page, common):
        started = time.perf_counter()
        try:
            return render(theme, page, common)
        finally:
            totals[f"render {page.template}"] += time.perf_counter() - started

    shards.render_page = render_timed
    config = load_config(project)
    departments, _ = list_departments(config)
    theme = load_theme(config)
    assets, static = asset_files(theme)
    configure_env(theme, static)
    scratch = Path(tempfile.mkdtemp(prefix="perfsite-stages-"))
    try:
        cache = BuildCache(scratch, scratch / "site")
        closures = template_closures(theme, shards.PRERENDERED)
        years = pipeline.nav_years(pipeline.record_names(config, (slug for slug, _ in departments)))
        fragments = fragment_templates(theme, closures, shards.PRERENDERED)
        context = shards._Context(config, theme, pipeline.common_context(config, theme, assets, years),
                                  scratch / "out", "key", cache, fragments)
        started = time.perf_counter()
        for slug, _ in departments:
            shards.build_unit(context, slug)
        total = time.perf_counter() - started
    finally:
        shards.render_page = render
        shutil.rmtree(scratch, ignore_errors=True)
    return total, totals, sum(n for _, n in departments)


def one_record_steps(project: Path) -> tuple[float, dict[str, float]]:
    build_module.build(project)  # cold
    record = sorted((project / "content/departments").glob("*/[0-9]*.yaml"))[0]
    record.write_text(record.read_text(encoding="utf-8").replace("units: 1", "units: 2", 1), encoding="utf-8")
    build_module.build(project)  # first edit: makes the standby copy
    record.write_text(record.read_text(encoding="utf-8").replace("units: 2", "units: 3", 1), encoding="utf-8")
    totals: dict[str, float] = defaultdict(float)
    for owner, name in STEPS:
        timed(owner, name, totals)
    started = time.perf_counter()
    build_module.build(project)
    return time.perf_counter() - started, totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=2000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="perfsite-profile-"))
    try:
        project = write_corpus(workdir / "project", args.forms, search=False)
        total, totals, forms = per_form_stages(project)
        print(f"per form, one core: {total / forms * 1000:.2f} ms ({forms} forms)")
        for name, seconds in sorted(totals.items(), key=lambda item: -item[1]):
            print(f"  {name:<28} {seconds / forms * 1000:6.3f} ms")
        seconds, steps = one_record_steps(project)
        print(f"one-record rebuild, steady state, in process: {seconds:.2f} s")
        for name, step in sorted(steps.items(), key=lambda item: -item[1]):
            print(f"  {name:<28} {step:6.3f} s")
        print(f"  {'everything else':<28} {seconds - sum(steps.values()):6.3f} s  (records, every-form pages, writes)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
