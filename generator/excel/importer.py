"""``perfsite import``: filled workbooks → YAML records, all or nothing.

Every sheet of every workbook is read (:mod:`generator.excel.read`), checked by exactly the
rules ``perfsite check`` applies to a YAML record (the schemas, the level names of the record's
layout, the cross checks, under the site's layouts and profiles), and planned as files to
write; every problem is collected first and nothing is written unless there are none.
Existing records, and a department.yaml that says something else, are replaced only on request.

A department-wide form is written as ``<year>.yaml``; a project form as ``<year>-<项目标识>.yaml``,
its 项目标识 cell giving the project id (required on a project form, lowercase letters, digits
and hyphens, checked where it is typed).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError, ContentError, Problem
from ..files import write_atomic
from ..read.config import load_config
from ..read.inputs import folder_problem
from ..read.layouts import Rules, shipped_rules
from ..read.records import cross_check, level_problems
from ..read.schema import DEPARTMENT_SCHEMA, REPORT_SCHEMA
from ..read.validate import validate
from ..read.yamlsource import read_yaml
from .grid import load_grids
from .read import Form, read_form
from .write import form_stem
from .yaml_text import department_lines, render_checked, report_lines


def import_workbooks(paths: list[Path], project_dir: Path, overwrite: bool = False) -> list[Path]:
    """Filled workbooks → ``content/departments/<slug>/<year>.yaml`` or ``<year>-<project>.yaml``
    (+ department.yaml).

    Every problem in every workbook is collected first and raised as one
    :class:`ContentError`; nothing is written unless all forms are valid. An existing
    record (or a department.yaml that says something else) is replaced only with
    ``overwrite``. Returns the files written.
    """
    project_dir = Path(project_dir).absolute()
    content_dir = project_dir / "content"
    if not content_dir.is_dir():
        raise ConfigError(f"{project_dir}: no content/ folder here (run in a project folder or pass --project DIR)")
    departments_dir = content_dir / "departments"
    problems: list[Problem] = [p for p in (folder_problem(content_dir, project_dir, "content"),
                                           folder_problem(departments_dir, project_dir, "content/departments"))
                               if p is not None]  # never write through a link
    try:  # the site's default layouts: the level names are checked as check would
        rules = load_config(project_dir).rules
    except ContentError as exc:  # a broken site.yaml: reported with the rest
        problems += [p for p in exc.problems if p not in problems]
        rules = shipped_rules()
    forms: list[Form] = []
    for path in paths:
        path = Path(path)
        display = str(path)
        grids, loading = load_grids(path, display)
        problems += loading
        for name, grid in grids:
            form, found = read_form(grid, f"{display}!{name}", rules)
            problems += found
            if form is None:
                continue
            checked = check_form(form, rules)
            # one problem per cell: a cell that could not be read is not also "missing"
            flagged = {p.location for p in loading + found}
            problems += [p for p in checked if p.location not in flagged]
            if not found and not checked and not loading:
                forms.append(form)
    writes = _plan_writes(forms, project_dir, overwrite, problems)
    if problems:
        raise ContentError(problems)
    for target, text in writes:
        write_atomic(target, text.encode("utf-8"))
    return [target for target, _ in writes]


def check_form(form: Form, rules: Rules) -> list[Problem]:
    """The problems ``perfsite check`` would find in the form's record and department, in the same
    steps: the schema (with the level names against the layout, all at once), then the cross checks."""
    report = form.report
    problems = validate(report, REPORT_SCHEMA)
    if problems:
        problems += level_problems(report, rules, form.project_id)
    else:
        problems = cross_check(report, report.data["year"], rules, form.project_id)
    return problems + validate(form.department, DEPARTMENT_SCHEMA)


def _plan_writes(forms: list[Form], project_dir: Path, overwrite: bool,
                 problems: list[Problem]) -> list[tuple[Path, str]]:
    """The (file, text) pairs to write; conflicts become problems. Nothing is written through a link."""
    departments_dir = project_dir / "content" / "departments"
    writes: list[tuple[Path, str]] = []
    seen: dict[tuple[str, str], str] = {}
    departments: dict[str, Form] = {}
    for form in forms:
        slug, year = form.slug, form.report.data["year"]
        name = f"{form_stem(year, form.project_id)}.yaml"
        if slug is None:  # pragma: no cover - a bad slug is a problem already
            continue
        rel_dir = f"content/departments/{slug}"
        folder = departments_dir / slug
        refused = folder_problem(folder, project_dir, rel_dir)
        if refused is not None:
            problems.append(Problem(form.slug_where, "slug", f"{rel_dir}: {refused.message}", refused.hint))
            continue
        where, key = form.form_where, "project_id" if form.project_id else "year"
        if (slug, name) in seen:
            problems.append(Problem(where, key, f"{rel_dir}/{name} is also in {seen[(slug, name)]}",
                                    "import each form once"))
            continue
        seen[(slug, name)] = form.display
        record = folder / name
        if record.is_symlink():
            problems.append(Problem(where, key, f"{rel_dir}/{name} is a symbolic link: "
                                    "perfsite never writes through a link", "put the file itself there"))
            continue
        if record.exists() and not overwrite:
            problems.append(Problem(where, key, f"{rel_dir}/{name} already exists",
                                    "import with --overwrite to replace it"))
            continue
        text, found = render_checked(form.report, f"{rel_dir}/{name}", report_lines, form.display)
        problems += found
        writes.append((record, text))
        first = departments.setdefault(slug, form)
        if first is not form:
            if _department_key(first.department.data) != _department_key(form.department.data):
                problems.append(Problem(form.department.where(("name",)), "",
                                        f"the department {slug} is described differently in {first.display}",
                                        "make the header blocks agree"))
            continue
        info = folder / "department.yaml"
        if info.is_symlink():
            problems.append(Problem(form.department.where(("name",)), "", f"{rel_dir}/department.yaml is a symbolic "
                                    "link: perfsite never writes through a link", "put the file itself there"))
            continue
        if info.exists():
            doc, found = read_yaml(info, f"{rel_dir}/department.yaml")
            same = not found and isinstance(doc.data, dict) and \
                _department_key(doc.data) == _department_key(form.department.data)
            if same:
                continue
            if not overwrite:
                problems.append(Problem(form.department.where(("name",)), "",
                                        f"the header block differs from {rel_dir}/department.yaml",
                                        "correct the workbook, or import with --overwrite to replace it"))
                continue
        text, found = render_checked(form.department, f"{rel_dir}/department.yaml", department_lines, form.display)
        problems += found
        writes.append((info, text))
    return writes


def _department_key(data: dict) -> tuple:
    def text(key):
        value = data.get(key)
        return "" if value is None else str(value).strip()

    return (text("name"), text("region"), text("code"), bool(data.get("fictional", False)), text("note"))
