"""Read the content folder into validated records, collecting every problem first.

Layout: ``content/departments/<slug>/department.yaml`` and ``<year>.yaml`` beside it.
Each file is parsed (:mod:`generator.read.yamlsource`), checked against its schema
(:mod:`generator.read.schema`), then checked across fields (level-2 under the right level-1,
file name = year, illegible cells left empty) and turned into :mod:`generator.read.model`.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ..errors import ContentError, Location, Problem
from .config import SiteConfig
from .inputs import (
    folder_problem,
    is_folder,
    link_problem,
    list_folder,
    open_input,
    read_input,
    read_open,
    root_of,
    shown_name,
)
from .model import Department, FundSource, Indicator, Report, ReportedFunds
from .schema import DEPARTMENT_SCHEMA, LEVEL2_BY_LEVEL1, REPORT_SCHEMA
from .validate import describe_value, validate
from .values import parse_value
from .yamlsource import Document, format_path, parse_source

_ARTICLE = {"target": "a target", "actual": "an actual"}
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\Z")
YEAR_FILE = re.compile(r"([0-9]{4})\.yaml\Z")  # ASCII digits only: ２０２１.yaml is not a year


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
        fd, st, problem = open_input(path, root_of(path, rel), rel)
        if problem is not None:
            return None, [problem]
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        entry = self._entries.get(rel)
        if entry and entry[0] == stamp and entry[2] == extra:
            os.close(fd)
            return entry[3]
        raw, problem = read_open(fd, st, rel)
        if raw is None:
            return None, [problem]
        digest = hashlib.blake2b(raw, digest_size=16).digest()
        unchanged = entry and entry[1] == digest and entry[2] == extra
        result = entry[3] if unchanged else parse(raw)
        self._entries[rel] = (stamp, digest, extra, result)
        return result


def department_of(rel: str) -> str | None:
    """The department a content path belongs to (``content/departments/<slug>/…``), if any."""
    parts = rel.split("/")
    return parts[2] if len(parts) > 3 and parts[:2] == ["content", "departments"] else None


def list_departments(config: SiteConfig) -> tuple[list[tuple[str, int]], list[Problem]]:
    """Department folders in slug order with their number of forms; layout problems.

    A department folder that is a symbolic link is an error like any link (see
    :mod:`generator.read.inputs`), never silently dropped."""
    root, rel = config.departments_dir, "content/departments"
    problem = link_problem(root, config.project_dir, rel) if os.path.lexists(root) else None
    if problem is not None:
        return [], [problem]
    if root.exists() and not root.is_dir():
        return [], [Problem(Location(rel), "", "not a folder: create one folder per department in it")]
    if not root.is_dir():
        return [], [Problem(Location(rel), "", "folder missing: create one folder per department in it")]
    entries, problem = list_folder(root, rel)
    found, problems = [], [problem] if problem else []
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        folder_rel = f"{rel}/{shown_name(name)}"
        if entry.is_symlink():
            problems.append(link_problem(Path(entry.path), config.project_dir, folder_rel)
                            or Problem(Location(folder_rel), "", "a symbolic link: not read"))
            continue
        if not entry.is_dir(follow_symlinks=False):
            if looks_like_yaml(name):
                problems.append(Problem(Location(folder_rel), "", "a record must sit in a department folder",
                                        "move it to content/departments/<slug>/"))
            continue
        if not SLUG.match(name):
            problems.append(Problem(Location(folder_rel), "", f"unsafe department folder name {name!r}",
                                    "use lowercase letters, digits and hyphens, e.g. wangcheng-kexie"))
            continue
        inside, problem = list_folder(Path(entry.path), folder_rel)
        if problem is not None:
            problems.append(problem)
            continue
        found.append((name, sum(1 for e in inside if YEAR_FILE.match(e.name))))
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
    """One department and its forms, or the problems that stop them.

    A form is read only from a file named exactly ``<year>.yaml`` in ASCII digits. A name
    that reads like a record once width, case, spaces and invisible characters are ignored
    (``２０２１.yaml``, ``2021 .yaml``, ``2021.yml``) is an error, so a form can neither
    vanish nor be claimed twice; any other file is a warning (:func:`unused_files`)."""
    root = root_of(folder, rel)
    problem = folder_problem(folder, root, rel)
    entries, listing = list_folder(folder, rel) if problem is None else ([], problem)
    if listing is not None:
        return None, [listing]
    names = {entry.name for entry in entries}
    problems: list[Problem] = []
    department = None
    if "department.yaml" not in names:
        problems.append(Problem(Location(f"{rel}/department.yaml"), "",
                                "missing: every department folder needs a department.yaml with its name"))
    else:
        department, found = read_department(folder / "department.yaml", f"{rel}/department.yaml", folder.name, cache)
        problems += found
    year_files = []
    for name in sorted(names):
        if name == "department.yaml" or name.startswith("."):
            continue
        if YEAR_FILE.match(name):
            year_files.append(folder / name)
        elif looks_like_yaml(name):
            problems.append(_misnamed(rel, name, names))
    if department is None:
        return None, problems
    reports = []
    for path in year_files:
        report, found = read_report(path, f"{rel}/{path.name}", department, cache)
        problems += found
        if report is not None:
            reports.append(report)
    return (department, reports), problems


def _plain_name(name: str) -> str:
    """A file name as a person reads it: width, case, spaces and invisible characters ignored."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(str(unicodedata.decimal(c)) if unicodedata.category(c) == "Nd" else c
                   for c in folded if unicodedata.category(c)[0] not in "CZ")


def looks_like_yaml(name: str) -> bool:
    """``2021.yml``, ``2021.YAML``, ``２０２１.yaml``, ``2021.yaml`` + U+200B: meant as a record."""
    return _plain_name(name).endswith((".yaml", ".yml"))


def claimed_year(name: str) -> int | None:
    """The year a record-like name stands for to a reader, if any."""
    match = re.fullmatch(r"([0-9]{4})\.ya?ml", _plain_name(name))
    return int(match.group(1)) if match else None


def odd_characters(name: str) -> str:
    """The characters of a name that a year file name may not hold, named, e.g.
    ``U+200B (ZERO WIDTH SPACE)``."""
    odd = dict.fromkeys(c for c in name if not ("!" <= c <= "~"))
    named = [f"U+{ord(c):04X} ({unicodedata.name(c, 'unnamed')})" for c in list(odd)[:3]]
    return ", ".join(named) + (", …" if len(odd) > 3 else "")


def _misnamed(rel: str, name: str, names: set[str]) -> Problem:
    """A file that looks like a record but is not named ``department.yaml`` or ``<year>.yaml``."""
    where = Location(f"{rel}/{shown_name(name)}")
    odd = odd_characters(name)
    year = claimed_year(name)
    if year is not None and f"{year}.yaml" in names:
        return Problem(where, "", f"a second file for {rel.rsplit('/', 1)[-1]} {year}, beside {year}.yaml",
                       (f"its name has {odd}; " if odd else "") + f"keep one file per year, named {year}.yaml")
    if odd:
        return Problem(where, "", "unexpected file name: expected department.yaml or <year>.yaml",
                       f"the name has {odd}; name each form by its year in ASCII digits, e.g. 2021.yaml")
    return Problem(where, "", "unexpected file name: expected department.yaml or <year>.yaml",
                   "name each form by its year, e.g. 2021.yaml")


def unused_files(config: SiteConfig) -> list[Problem]:
    """Files and folders under ``content/`` that nothing reads: warnings, so that a form saved
    under a wrong name cannot silently disappear. Names starting with a dot are left alone;
    what the readers look at (links, record-like names) they report themselves, as errors."""
    out: list[Problem] = []

    def walk(folder: Path, rel: str, read, why: str) -> list[os.DirEntry]:
        entries, _problem = list_folder(folder, rel)  # an unreadable folder is the readers' error
        out.extend(Problem(Location(f"{rel}/{shown_name(e.name)}"), "", f"not used: {why}",
                           "move it out of content/, or name it as a record if it is one")
                   for e in entries if not e.name.startswith(".") and not read(e))
        return entries

    walk(config.content_dir, "content", lambda e: e.name in ("site.yaml", "departments"),
         "perfsite reads content/site.yaml and content/departments/ only")
    if not is_folder(config.departments_dir):
        return out
    for entry in walk(config.departments_dir, "content/departments",
                      lambda e: e.is_dir() or e.is_symlink() or looks_like_yaml(e.name),
                      "records sit in department folders"):
        if entry.is_dir(follow_symlinks=False) and SLUG.match(entry.name):
            walk(Path(entry.path), f"content/departments/{entry.name}",
                 lambda e: e.name == "department.yaml" or YEAR_FILE.match(e.name) or looks_like_yaml(e.name),
                 "a department folder holds department.yaml and <year>.yaml only")
    return out


def _read(path: Path, rel: str, parse, cache: RecordCache | None, extra=None):
    """Parse a file through the cache when there is one."""
    def from_bytes(raw: bytes):
        return parse(*parse_source(raw, rel))

    if cache is None:
        raw, problem = read_input(path, root_of(path, rel), rel)
        return (None, [problem]) if raw is None else from_bytes(raw)
    return cache.read(path, rel, from_bytes, extra)


def read_department(path: Path, rel: str, slug: str,
                    cache: RecordCache | None = None) -> tuple[Department | None, list[Problem]]:
    return _read(path, rel, lambda doc, problems: _department(doc, problems, rel, slug), cache)


def parse_department(raw: bytes, rel: str, slug: str) -> tuple[Department | None, list[Problem]]:
    """A department from the bytes of its department.yaml, by exactly the rules ``check`` uses."""
    return _department(*parse_source(raw, rel), rel, slug)


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
        base=parse_value(row.get("base")),
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
