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
from dataclasses import dataclass, replace
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
from .layouts import Rules, shipped_rules
from .model import Department, FundSource, Indicator, Report, ReportedFunds, Untranscribed
from .schema import DEPARTMENT_SCHEMA, REPORT_SCHEMA
from .validate import describe_value, suggest, validate
from .values import parse_value
from .yamlsource import Document, format_path, parse_source

_ARTICLE = {"target": "a target", "actual": "an actual"}
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\Z")
YEAR_FILE = re.compile(r"([0-9]{4})\.yaml\Z")  # ASCII digits only: ２０２１.yaml is not a year
# a form: <year>.yaml (the department-wide form) or <year>-<project>.yaml (one project's form)
FORM_FILE = re.compile(r"([0-9]{4})(?:-([a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?))?\.yaml\Z")


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
        found.append((name, sum(1 for e in inside if FORM_FILE.match(e.name))))
    return found, problems


def read_content(config: SiteConfig, cache: RecordCache | None = None) -> Content:
    """Read all records under ``content/departments``; raise with every problem found."""
    listed, problems = list_departments(config)
    departments: list[Department] = []
    reports: list[Report] = []
    for slug, _count in listed:
        result, found = read_department_folder(config.departments_dir / slug, f"content/departments/{slug}", cache,
                                               config.rules)
        problems += found
        if result is not None:
            departments.append(result[0])
            reports += result[1]
    if problems:
        raise ContentError(problems)
    reports.sort(key=form_order)
    return Content(tuple(departments), tuple(reports))


def form_order(report: Report) -> tuple[str, int, str]:
    """Forms in site order: by department, year, the department-wide form before its projects."""
    return report.key


def read_department_folder(folder: Path, rel: str, cache: RecordCache | None = None, rules: Rules | None = None):
    """One department and its forms, or the problems that stop them.

    A form is read only from a file named exactly ``<year>.yaml`` (the department-wide form) or
    ``<year>-<project>.yaml`` (a project form; lowercase letters, digits, hyphens). A name
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
        if FORM_FILE.match(name):
            year_files.append(folder / name)
        elif looks_like_yaml(name):
            problems.append(_misnamed(rel, name, names))
    if department is None:
        return None, problems
    reports = []
    for path in year_files:
        report, found = read_report(path, f"{rel}/{path.name}", department, cache, rules)
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
    expected = "unexpected file name: expected department.yaml, <year>.yaml or <year>-<project>.yaml"
    if odd:
        return Problem(where, "", expected, f"the name has {odd}; name each form by its year in ASCII digits, "
                       "e.g. 2021.yaml, or 2021-<project>.yaml for a project form")
    return Problem(where, "", expected,
                   "name each form by its year, e.g. 2021.yaml; a project form 2021-<project>.yaml in lowercase "
                   "letters, digits and hyphens, e.g. 2021-keji-puji.yaml")


def unused_files(config: SiteConfig, known: dict[str, list[Problem]] | None = None,
                 unchanged=lambda slug: False) -> list[Problem]:
    """Files and folders under ``content/`` that nothing reads: warnings, so that a form saved
    under a wrong name cannot silently disappear. Names starting with a dot are left alone;
    what the readers look at (links, record-like names) they report themselves, as errors.
    ``known``: each department folder's warnings from last time, reused for the folders
    ``unchanged`` says are (and updated)."""
    out: list[Problem] = []

    def walk(folder: Path, rel: str, read, why: str) -> tuple[list[os.DirEntry], list[Problem]]:
        entries, _problem = list_folder(folder, rel)  # an unreadable folder is the readers' error
        return entries, [Problem(Location(f"{rel}/{shown_name(e.name)}"), "", f"not used: {why}",
                                 "move it out of content/, or name it as a record if it is one")
                         for e in entries if not e.name.startswith(".") and not read(e)]

    out += walk(config.content_dir, "content", lambda e: e.name in ("site.yaml", "departments"),
                "perfsite reads content/site.yaml and content/departments/ only")[1]
    if not is_folder(config.departments_dir):
        return out
    entries, found = walk(config.departments_dir, "content/departments",
                          lambda e: e.is_dir() or e.is_symlink() or looks_like_yaml(e.name),
                          "records sit in department folders")
    out += found
    seen = {}
    for entry in entries:
        if entry.is_dir(follow_symlinks=False) and SLUG.match(entry.name):
            slug = entry.name
            if known is not None and slug in known and unchanged(slug):
                seen[slug] = known[slug]
            else:
                seen[slug] = walk(Path(entry.path), f"content/departments/{slug}",
                                  lambda e: e.name == "department.yaml" or FORM_FILE.match(e.name)
                                  or looks_like_yaml(e.name),
                                  "a department folder holds department.yaml, <year>.yaml and <year>-<project>.yaml "
                                  "only")[1]
            out += seen[slug]
    if known is not None:
        known.clear()
        known.update(seen)
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


def read_report(path: Path, rel: str, department: Department, cache: RecordCache | None = None,
                rules: Rules | None = None) -> tuple[Report | None, list[Problem]]:
    rules = rules or shipped_rules()
    match = FORM_FILE.match(path.name)
    year, project_id = int(match.group(1)), match.group(2) or ""
    return _read(path, rel, lambda doc, problems: _report(doc, problems, rel, department, year, project_id, rules),
                 cache, extra=(department, rules))


def _report(doc: Document, problems: list[Problem], rel: str, department: Department, file_year: int,
            project_id: str, rules: Rules):
    if not problems:
        problems = validate(doc, REPORT_SCHEMA)
        if problems:  # the level names are no longer in the schema: still report them with the rest
            problems += level_problems(doc, rules, project_id)
    if not problems:
        problems = cross_check(doc, file_year, rules, project_id)
    if problems:
        return None, problems
    return build_report(doc, department, rel, rules, project_id), []


def form_kind(data: dict, project_id: str = "") -> str:
    """``department`` or ``project``: a ``<year>-<project>.yaml`` file holds a project form (whatever
    its ``form:`` says; a contrary one is an error of its own)."""
    return "project" if project_id else data.get("form") or "department"


def record_layout(data: dict, rules: Rules, project_id: str = ""):
    """The layout a record names, or the site's default for its form kind (None: unknown name)."""
    name = data.get("layout")
    return rules.layouts.get(name) if name else rules.default_layout(form_kind(data, project_id))


def level_problems(doc: Document, rules: Rules, project_id: str = "") -> list[Problem]:
    """Each row's 一级 and 二级 names against the record's layout. Safe on a record that failed its
    schema (the names are reported with the other problems, all at once)."""
    d = doc.data if isinstance(doc.data, dict) else {}
    try:
        layout = record_layout(d, rules, project_id) if isinstance(d.get("layout") or "", str) else None
    except (KeyError, TypeError):
        layout = None
    rows = d.get("indicators")
    if layout is None or not isinstance(rows, list):
        return []
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("level1"), str) or not row["level1"].strip():
            continue
        level1, level2 = row["level1"], row.get("level2")
        if level2 is None and "level2" not in unknown_cells(row):
            out.append(Problem(doc.where(("indicators", i, "level2")), format_path(("indicators", i, "level2")),
                               "required key is missing (二级指标)",
                               "write it as printed, or list level2 under illegible if it cannot be read"))
        if level1 not in layout.levels:
            out.append(Problem(doc.where(("indicators", i, "level1")), format_path(("indicators", i, "level1")),
                               f"expected a level-1 indicator of layout {layout.name} ({', '.join(layout.levels)}), "
                               f"got {describe_value(level1)}", _did_you_mean(level1, list(layout.levels))))
        elif isinstance(level2, str) and not layout.allows_level2(level1, level2):
            allowed = layout.levels[level1]
            out.append(Problem(doc.where(("indicators", i, "level2")), format_path(("indicators", i, "level2")),
                               f"expected a level-2 indicator of {level1} ({', '.join(allowed)}), "
                               f"got {describe_value(level2)}", _did_you_mean(level2, list(allowed))))
    return out


def _did_you_mean(word: str, choices: list[str]) -> str:
    hint = suggest(word, choices)
    return hint if hint.startswith("did you mean") else ""


def cross_check(doc: Document, file_year: int, rules: Rules | None = None, project_id: str = "") -> list[Problem]:
    """Rules that span fields, which a schema cannot say."""
    rules = rules or shipped_rules()
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
    kind = form_kind(d, project_id)
    if project_id and (d.get("form") or "project") != "project":
        fail(("form",), f"expected project (the file name {file_year}-{project_id}.yaml holds a project form), "
             f"got {describe_value(d.get('form'))}", f"a department-wide form is named {file_year}.yaml")
    if d.get("profile") and d["profile"] not in rules.profile_names:
        fail(("profile",), f"expected one of the shipped profiles ({', '.join(rules.profile_names)}), "
             f"got {describe_value(d['profile'])}", suggest(d["profile"], list(rules.profile_names)))
    layout = record_layout(d, rules, project_id)
    if layout is None:
        fail(("layout",), f"expected one of the shipped layouts ({', '.join(sorted(rules.layouts))}), "
             f"got {describe_value(d['layout'])}", suggest(d["layout"], sorted(rules.layouts)))
    elif layout.form != kind:
        fail(("layout",), f"expected a layout for a {kind} form, got {describe_value(d['layout'])} "
             f"(a {layout.form} layout)",
             "choose one of " + ", ".join(n for n, x in sorted(rules.layouts.items()) if x.form == kind))
    funds = d["funds"]
    rows = [(("funds", "sources", i), source) for i, source in enumerate(funds.get("sources") or [])]
    if funds.get("reported"):
        rows.append((("funds", "reported"), funds["reported"]))
    for at, source in rows:
        for name in source.get("illegible") or []:
            if source.get(name) is not None:
                fail(at + (name,), "marked illegible but has a value",
                     "remove the value or take it off the illegible list")
        for name in source.get("untranscribed") or []:
            if source.get(name) is not None:
                fail(at + (name,), "marked untranscribed but has a value",
                     "remove the value or take it off the untranscribed list")
    for i, source in enumerate(funds.get("sources") or []):
        for name, title in (("budget", "全年预算数"), ("executed", "全年执行数")):
            if source.get(name) is None and name not in unknown_cells(source):
                state = "has no value" if name in source else "is missing"
                fail(("funds", "sources", i, name), f"required key {state} ({title})",
                     "write the amount as printed, or list it under illegible if it cannot be read")
    if not funds.get("sources") and not (funds.get("reported") or {}) and not any(
            (u or {}).get("part") == "funds" for u in d.get("untranscribed") or []):
        fail(("funds",), "expected the funds rows: sources, or the 年度资金总额 row under reported",
             "if the source does not show them, say so: untranscribed: [{part: funds}]")
    out += level_problems(doc, rules, project_id)
    for i, row in enumerate(d.get("indicators") or []):
        for key, word in (("illegible", "illegible"), ("untranscribed", "untranscribed")):
            for name in row.get(key) or []:
                if row.get(name) is not None:
                    fail(("indicators", i, name), f"marked {word} but has a value",
                         f"remove the value or take it off the {word} list")
        unknown = unknown_cells(row)
        has_content = (row.get("content") or "").strip() or "content" in unknown
        if layout is not None and not layout.has_content_column:
            has_content = has_content or (row.get("level3") or "").strip() or "level3" in unknown
        if not has_content:
            for name in ("target", "actual"):
                if row.get(name) is not None:
                    fail(("indicators", i, name), f"a row without content (目标内容) cannot have {_ARTICLE[name]}",
                         "add the content, or leave the row empty")
    return out


def build_report(doc: Document, department: Department, rel: str, rules: Rules | None = None,
                 project_id: str = "") -> Report:
    rules = rules or shipped_rules()
    d = doc.data
    layout = record_layout(d, rules, project_id)
    funds = d["funds"]
    reported_funds = dict(funds.get("reported") or {})
    reported_funds["illegible"] = tuple(unknown_cells(reported_funds))
    reported_funds["untranscribed"] = tuple(reported_funds.get("untranscribed") or ())
    reported = d.get("reported") or {}
    goals = d.get("goals") or {}
    return Report(
        department=department,
        year=d["year"],
        form=form_kind(d, project_id),
        project_id=project_id,
        project=_text(d.get("project")),
        project_code=_text(d.get("project_code")),
        authority=_text(d.get("authority")),
        implementer=_text(d.get("implementer")),
        layout=layout,
        profile_name=_text(d.get("profile")),
        untranscribed=tuple(Untranscribed(u["part"], _text(u.get("note"))) for u in d.get("untranscribed") or []),
        units=d.get("units"),
        money_unit=d.get("money_unit") or "万元",
        funds_weight=_dec(funds.get("weight")),
        sources=tuple(FundSource(
            name=s["name"].strip(), budget=_dec(s.get("budget")), executed=_dec(s.get("executed")),
            transfer=_dec(s.get("transfer")), initial_budget=_dec(s.get("initial_budget")),
            illegible=tuple(unknown_cells(s)), rate=_dec(s.get("rate")), score=_dec(s.get("score")),
            untranscribed=tuple(s.get("untranscribed") or ()))
            for s in funds.get("sources") or ()),
        reported_funds=ReportedFunds(**{k: v if k in ("illegible", "untranscribed") else _dec(v)
                                        for k, v in reported_funds.items()}),
        functions=_text(d.get("functions")),
        goals_planned=_text(goals.get("planned")),
        goals_achieved=_text(goals.get("achieved")),
        indicators=tuple(build_indicator(i, row, not layout.has_content_column)
                         for i, row in enumerate(d.get("indicators") or [])),
        reported_total=_dec(reported.get("total")),
        reported_grade=reported.get("grade"),
        published=_text(d.get("published")) or f"{d['year'] + 1}-01-01",
        source=_text(d.get("source")),
        source_url=_text(d.get("source_url")),
        notes=_text(d.get("notes")),
        src_path=rel,
        doc=doc,
    )


def build_indicator(index: int, row: dict, named_by_level3: bool = False) -> Indicator:
    nature, unit = _text(row.get("nature")), _text(row.get("unit"))
    return Indicator(
        index=index, level1=row["level1"].strip(), level2=_text(row.get("level2")),
        level3=_text(row.get("level3")), content=_text(row.get("content")),
        target=column_value(row.get("target"), nature, unit), actual=column_value(row.get("actual"), "", unit),
        nature=nature, unit=unit, coefficient=_dec(row.get("coefficient")), core=row.get("core"),
        base=parse_value(row.get("base")),
        weight=_dec(row.get("weight")), score=_dec(row.get("score")),
        reason=_text(row.get("reason")), measures=_text(row.get("measures")),
        direction=row.get("direction"), assessment=row.get("assessment"),
        applicable=row.get("applicable") is not False, illegible=tuple(unknown_cells(row)),
        untranscribed=tuple(row.get("untranscribed") or ()),
        note=_text(row.get("note")), named_by_level3=named_by_level3,
    )


def unknown_cells(row: dict) -> list[str]:
    """The cells a row of the record leaves unknown: illegible on the source, or not transcribed."""
    return list(dict.fromkeys([*(row.get("illegible") or ()), *(row.get("untranscribed") or ())]))


COMPARATOR_NATURES = ("=", "≥", "≤", ">", "<")


def column_value(raw, nature: str, unit: str):
    """A target or actual read together with the form's own 指标性质 and 度量单位 columns: a bare
    ``100`` under ``=`` and ``%`` is the target ``=100%``. The text shown stays as printed; a
    cell that writes its own comparator or unit keeps it."""
    value = parse_value(raw)
    if value is None or not (nature in COMPARATOR_NATURES or unit):
        return value
    text = str(raw).strip()
    plain = parse_value(text)
    if plain is None or plain.kind != "quantity":
        return value
    combined = parse_value((nature if nature in COMPARATOR_NATURES and plain.comparator is None else "")
                           + text + (unit if unit and not plain.unit else ""))
    return replace(combined, text=value.text) if combined is not None and combined.kind == "quantity" else value


def _dec(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def _text(value) -> str:
    return "" if value is None else str(value).strip()
