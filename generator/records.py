"""Read the content folder into validated records, collecting every problem first.

Layout: ``content/departments/<slug>/department.yaml`` and ``<year>.yaml`` beside it.
Each file is parsed (:mod:`generator.yamlsource`), checked against its schema
(:mod:`generator.schema`), then checked across fields (level-2 under the right level-1,
file name = year, illegible cells left empty) and turned into :mod:`generator.model`.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from .config import SiteConfig
from .errors import ContentError, Location, Problem
from .model import Department, FundSource, Indicator, Report, ReportedFunds
from .schema import DEPARTMENT_SCHEMA, LEVEL2_BY_LEVEL1, REPORT_SCHEMA, describe_value, validate
from .values import parse_value
from .yamlsource import Document, format_path, parse_source

_ARTICLE = {"target": "a target", "actual": "an actual"}
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\Z")
YEAR_FILE = re.compile(r"(\d{4})\.yaml\Z")


@dataclass(frozen=True)
class Content:
    """Every department and every form, in a stable order."""

    departments: tuple[Department, ...]
    reports: tuple[Report, ...]


class RecordCache:
    """Parsed records kept between builds (``serve``), reused while a file is unchanged.

    A file counts as unchanged when its stat stamp matches, or else when its bytes hash
    the same; a report is also re-read when its department changed.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple] = {}

    def read(self, path: Path, rel: str, parse, extra=None):
        try:
            st = path.stat()
        except OSError:
            return parse(None)
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        entry = self._entries.get(rel)
        if entry and entry[0] == stamp and entry[2] == extra:
            return entry[3]
        try:
            raw = path.read_bytes()
        except OSError:
            return parse(None)
        digest = hashlib.blake2b(raw, digest_size=16).digest()
        unchanged = entry and entry[1] == digest and entry[2] == extra
        result = entry[3] if unchanged else parse(raw)
        self._entries[rel] = (stamp, digest, extra, result)
        return result


def list_departments(config: SiteConfig) -> tuple[list[tuple[str, int]], list[Problem]]:
    """Department folders in slug order with their number of forms; layout problems."""
    root = config.departments_dir
    if root.exists() and not root.is_dir():
        return [], [Problem(Location("content/departments"), "",
                            "not a folder: create one folder per department in it")]
    if not root.is_dir():
        return [], [Problem(Location("content/departments"), "",
                            "folder missing: create one folder per department in it")]
    found, problems = [], []
    for folder in sorted(root.iterdir()):
        if folder.name.startswith("."):
            continue
        rel = f"content/departments/{folder.name}"
        if not folder.is_dir() or folder.is_symlink():
            if folder.suffix.lower() in (".yaml", ".yml"):
                problems.append(Problem(Location(rel), "", "a record must sit in a department folder",
                                        "move it to content/departments/<slug>/"))
            continue
        if not SLUG.match(folder.name):
            problems.append(Problem(Location(rel), "", f"unsafe department folder name {folder.name!r}",
                                    "use lowercase letters, digits and hyphens, e.g. wangcheng-kexie"))
            continue
        found.append((folder.name, sum(1 for p in folder.iterdir() if YEAR_FILE.match(p.name))))
    return found, problems


def read_content(config: SiteConfig, cache: RecordCache | None = None) -> Content:
    """Read all records under ``content/departments``; raise with every problem found."""
    listed, problems = list_departments(config)
    departments: list[Department] = []
    reports: list[Report] = []
    for slug, _count in listed:
        result, found = read_department_folder(config.departments_dir / slug, f"content/departments/{slug}", cache)
        problems += found
        if result is not None:
            departments.append(result[0])
            reports += result[1]
    if problems:
        raise ContentError(problems)
    reports.sort(key=lambda r: (r.department.slug, r.year))
    return Content(tuple(departments), tuple(reports))


def read_department_folder(folder: Path, rel: str, cache: RecordCache | None = None):
    """One department and its forms, or the problems that stop them."""
    problems: list[Problem] = []
    info = folder / "department.yaml"
    if not info.is_file():
        problems.append(Problem(Location(f"{rel}/department.yaml"), "",
                                "missing: every department folder needs a department.yaml with its name"))
        department = None
    else:
        department, found = read_department(info, f"{rel}/department.yaml", folder.name, cache)
        problems += found
    year_files = []
    for path in sorted(folder.iterdir()):
        if path.name == "department.yaml" or path.name.startswith("."):
            continue
        if YEAR_FILE.match(path.name) and path.is_file() and not path.is_symlink():
            year_files.append(path)
        elif path.suffix.lower() in (".yaml", ".yml"):
            problems.append(Problem(Location(f"{rel}/{path.name}"), "",
                                    "unexpected file name: expected department.yaml or <year>.yaml",
                                    "name each form by its year, e.g. 2021.yaml"))
    if department is None:
        return None, problems
    reports = []
    for path in year_files:
        report, found = read_report(path, f"{rel}/{path.name}", department, cache)
        problems += found
        if report is not None:
            reports.append(report)
    return (department, reports), problems


def _read(path: Path, rel: str, parse, cache: RecordCache | None, extra=None):
    """Parse a file through the cache when there is one."""
    def from_bytes(raw: bytes | None):
        if raw is None:
            return None, [Problem(Location(rel), "", "cannot read the file")]
        return parse(*parse_source(raw, rel))

    if cache is None:
        try:
            return from_bytes(path.read_bytes())
        except OSError as exc:
            return None, [Problem(Location(rel), "", f"cannot read: {exc.strerror}")]
    return cache.read(path, rel, from_bytes, extra)


def read_department(path: Path, rel: str, slug: str,
                    cache: RecordCache | None = None) -> tuple[Department | None, list[Problem]]:
    return _read(path, rel, lambda doc, problems: _department(doc, problems, rel, slug), cache)


def _department(doc: Document, problems: list[Problem], rel: str, slug: str):
    if not problems:
        problems = validate(doc, DEPARTMENT_SCHEMA)
    if problems:
        return None, problems
    d = doc.data
    return Department(slug=slug, name=d["name"].strip(), region=_text(d.get("region")),
                      code=_text(d.get("code")), fictional=bool(d.get("fictional", False)),
                      note=_text(d.get("note")), src_path=rel), []


def read_report(path: Path, rel: str, department: Department,
                cache: RecordCache | None = None) -> tuple[Report | None, list[Problem]]:
    year = int(YEAR_FILE.match(path.name).group(1))
    return _read(path, rel, lambda doc, problems: _report(doc, problems, rel, department, year), cache,
                 extra=department)


def _report(doc: Document, problems: list[Problem], rel: str, department: Department, file_year: int):
    if not problems:
        problems = validate(doc, REPORT_SCHEMA)
    if not problems:
        problems = cross_check(doc, file_year)
    if problems:
        return None, problems
    return build_report(doc, department, rel), []


def cross_check(doc: Document, file_year: int) -> list[Problem]:
    """Rules that span fields, which a schema cannot say."""
    d = doc.data
    out: list[Problem] = []

    def fail(path, message, hint=""):
        out.append(Problem(doc.where(path), format_path(path), message, hint))

    if d.get("published"):
        try:
            datetime.date.fromisoformat(d["published"])
        except ValueError:
            fail(("published",), f"expected a real date YYYY-MM-DD, got {describe_value(d['published'])}")
    if d["year"] != file_year:
        fail(("year",), f"expected {file_year} (the file name), got {d['year']}",
             "rename the file or correct the year")
    for i, source in enumerate(d["funds"]["sources"]):
        for name in source.get("illegible") or []:
            if source.get(name) is not None:
                fail(("funds", "sources", i, name), "marked illegible but has a value",
                     "remove the value or take it off the illegible list")
    for i, row in enumerate(d.get("indicators") or []):
        allowed = LEVEL2_BY_LEVEL1.get(row["level1"], [])
        if row["level2"] not in allowed:
            fail(("indicators", i, "level2"),
                 f"expected a level-2 indicator of {row['level1']} ({', '.join(allowed)}), "
                 f"got {describe_value(row['level2'])}")
        for name in row.get("illegible") or []:
            if row.get(name) is not None:
                fail(("indicators", i, name), "marked illegible but has a value",
                     "remove the value or take it off the illegible list")
        has_content = (row.get("content") or "").strip() or "content" in (row.get("illegible") or [])
        if not has_content:
            for name in ("target", "actual"):
                if row.get(name) is not None:
                    fail(("indicators", i, name), f"a row without content (目标内容) cannot have {_ARTICLE[name]}",
                         "add the content, or leave the row empty")
    return out


def build_report(doc: Document, department: Department, rel: str) -> Report:
    d = doc.data
    funds = d["funds"]
    reported_funds = funds.get("reported") or {}
    reported = d.get("reported") or {}
    goals = d.get("goals") or {}
    return Report(
        department=department,
        year=d["year"],
        form=d.get("form") or "department",
        project=_text(d.get("project")),
        units=d.get("units"),
        money_unit=d.get("money_unit") or "万元",
        funds_weight=_dec(funds.get("weight")),
        sources=tuple(FundSource(
            name=s["name"].strip(), budget=_dec(s.get("budget")), executed=_dec(s.get("executed")),
            transfer=_dec(s.get("transfer")), initial_budget=_dec(s.get("initial_budget")),
            illegible=tuple(s.get("illegible") or ())) for s in funds["sources"]),
        reported_funds=ReportedFunds(**{k: _dec(v) for k, v in reported_funds.items()}),
        functions=_text(d.get("functions")),
        goals_planned=_text(goals.get("planned")),
        goals_achieved=_text(goals.get("achieved")),
        indicators=tuple(build_indicator(i, row) for i, row in enumerate(d.get("indicators") or [])),
        reported_total=_dec(reported.get("total")),
        reported_grade=reported.get("grade"),
        published=_text(d.get("published")) or f"{d['year'] + 1}-01-01",
        source=_text(d.get("source")),
        notes=_text(d.get("notes")),
        src_path=rel,
        doc=doc,
    )


def build_indicator(index: int, row: dict) -> Indicator:
    return Indicator(
        index=index, level1=row["level1"], level2=row["level2"],
        level3=_text(row.get("level3")), content=_text(row.get("content")),
        target=parse_value(row.get("target")), actual=parse_value(row.get("actual")),
        weight=_dec(row.get("weight")), score=_dec(row.get("score")),
        reason=_text(row.get("reason")), measures=_text(row.get("measures")),
        direction=row.get("direction"), assessment=row.get("assessment"),
        applicable=row.get("applicable") is not False, illegible=tuple(row.get("illegible") or ()),
        note=_text(row.get("note")),
    )


def _dec(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def _text(value) -> str:
    return "" if value is None else str(value).strip()
