"""``perfsite new <slug> <year>``: start a form, carrying last year's indicators over.

The new record opens with a ``yaml-language-server`` line that points at the JSON
Schema written into the project's ``schemas/`` folder, so VS Code (with the YAML
extension) completes keys, shows Chinese hover text and validates while typing.
Amounts and results are left empty on purpose: ``check`` then lists exactly what is
still to fill in. Nothing that exists is ever overwritten.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import ConfigError
from .files import write_atomic
from .read.inputs import folder_problem, link_problem
from .read.layouts import DEFAULT_LAYOUTS, shipped_rules
from .read.records import FORM_FILE, SLUG, parse_department, read_report
from .read.records import read_department as _read_department
from .site.export import all_schemas, dumps

SCHEMA_DIR = "schemas"
MODELINE = "# yaml-language-server: $schema=../../../schemas/{kind}.schema.json\n"
CARRIED = ("level1", "level2", "level3", "content", "nature", "target", "unit", "weight", "direction")


def write_schemas(project_dir: Path) -> Path:
    """The JSON Schemas editors read, kept current in ``<project>/schemas/``."""
    folder = project_dir / SCHEMA_DIR
    _refuse_links(project_dir)
    folder.mkdir(exist_ok=True)
    for name, schema in all_schemas().items():
        path = folder / f"{name}.schema.json"
        text = dumps(schema) + "\n"
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            write_atomic(path, text.encode("utf-8"))
    return folder


def _refuse_links(project_dir: Path) -> None:
    """The schemas folder and its files are read and written: never through a link."""
    folder = project_dir / SCHEMA_DIR
    problem = folder_problem(folder, project_dir, SCHEMA_DIR)
    for name in all_schemas() if problem is None and folder.is_dir() else ():
        path = folder / f"{name}.schema.json"
        problem = problem or (link_problem(path, project_dir, f"{SCHEMA_DIR}/{path.name}")
                              if path.is_symlink() else None)
    if problem is not None:
        raise ConfigError(str(problem))


def _quote(value: object) -> str:
    """A YAML scalar that reads back as exactly this value (JSON strings are valid YAML)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def new_record(project_dir: Path, slug: str, year: int, name: str | None = None, project: str | None = None,
               layout: str | None = None) -> list[Path]:
    """Scaffold ``content/departments/<slug>/<year>.yaml``, or with ``project`` the project form
    ``<year>-<project>.yaml`` (and department.yaml if new), in the named layout's rows."""
    if not SLUG.match(slug):
        raise ConfigError(f"{slug!r}: a department folder name uses lowercase letters, digits and hyphens, "
                          "e.g. wangcheng-kexie")
    if project is not None and not SLUG.match(project):
        raise ConfigError(f"--project-id {project!r}: a project id uses lowercase letters, digits and hyphens, "
                          "e.g. keji-puji (it names the file <year>-<project>.yaml)")
    if not 1990 <= year <= 2100:
        raise ConfigError(f"{year}: expected a year from 1990 to 2100")
    kind = "project" if project else "department"
    rules = shipped_rules()
    if layout is not None and layout not in rules.layouts:
        raise ConfigError(f"--layout {layout!r}: unknown; shipped layouts: {', '.join(sorted(rules.layouts))}")
    if layout is not None and rules.layouts[layout].form != kind:
        raise ConfigError(f"--layout {layout}: a layout for {rules.layouts[layout].form} forms; this is a {kind} form"
                          + ("" if project else " (add --project-id ID for a project form)"))
    rel = f"content/departments/{slug}"
    folder = project_dir / rel
    for path, shown in ((project_dir / "content", "content"), (folder.parent, "content/departments"), (folder, rel)):
        problem = folder_problem(path, project_dir, shown)  # never write through a link
        if problem is not None:
            raise ConfigError(str(problem))
    _refuse_links(project_dir)
    file_name = f"{year}-{project}.yaml" if project else f"{year}.yaml"
    record = folder / file_name
    if os.path.lexists(record):
        raise ConfigError(f"{rel}/{file_name}: already exists; nothing was changed")
    written = []
    info = folder / "department.yaml"
    if not os.path.lexists(info):
        if not name:
            raise ConfigError(f"{slug} is a new department: give its name with --name (部门（单位）名称)")
        text = department_text(name, slug)
        write_atomic(info, text.encode("utf-8"))
        written.append(info)
    previous = _previous_report(folder, year, project or "")
    chosen = rules.layouts[layout or (previous.layout.name if previous is not None else DEFAULT_LAYOUTS[kind])]
    write_atomic(record, record_text(year, previous, project or "", chosen, explicit=layout is not None
                                     or (previous is not None and "layout" in (previous.doc.data or {})))
                 .encode("utf-8"))
    written.append(record)
    write_schemas(project_dir)
    return written


def department_text(name: str, slug: str) -> str:
    """department.yaml for ``--name``, refused unless ``check`` would accept it as written."""
    text = MODELINE.format(kind="department") + f"name: {_quote(name)}\n"
    _, problems = parse_department(text.encode("utf-8"), "department.yaml", slug)
    if problems:
        problem = problems[0]
        raise ConfigError(f"--name: {problem.message}" + (f" ({problem.hint})" if problem.hint else ""))
    return text


def _previous_report(folder: Path, year: int, project: str = ""):
    """The latest valid earlier form of this department (of this project), if any."""
    rel = f"content/departments/{folder.name}"
    info = folder / "department.yaml"
    department, problems = _read_department(info, f"{rel}/department.yaml", folder.name)
    if department is None:
        return None
    earlier = sorted((int(m.group(1)), p) for p in folder.iterdir()
                     if (m := FORM_FILE.match(p.name)) and (m.group(2) or "") == project and int(m.group(1)) < year)
    for _earlier_year, path in reversed(earlier):
        report, problems = read_report(path, f"{rel}/{path.name}", department)
        if report is not None:
            return report
    return None


def record_text(year: int, previous, project: str = "", layout=None, explicit: bool = False) -> str:
    layout = layout or shipped_rules().default_layout("project" if project else "department")
    lines = [MODELINE.format(kind="report"), f"year: {year}\n", f"form: {'project' if project else 'department'}\n"]
    if explicit:
        lines.append(f"layout: {layout.name}\n")
    if project:
        for key in ("project", "project_code", "authority", "implementer"):
            value = getattr(previous, key) if previous is not None else ""
            lines.append(f"{key}: {_quote(value)}\n" if value else f"{key}: \n")
    if previous is not None:
        lines.append(f"# 由 {previous.year} 年的自评表带入：指标和目标值沿用上年，请核对后填写本年数字。\n")
        if previous.units is not None:
            lines.append(f"units: {previous.units}\n")
        lines.append(f"money_unit: {previous.money_unit}\n")
    else:
        lines += ["units: \n", "money_unit: 万元\n"]
    lines += ["funds:\n", "  weight: 10\n"]
    if project:
        lines.append("  reported: {initial_budget: , budget: , executed: , rate: , score: }\n")
    lines.append("  sources:\n")
    sources = ([s.name for s in previous.sources] if previous is not None and previous.sources
               else list(layout.fund_rows[:1]) or ["财政拨款"])
    for source in sources:
        lines.append(f"    - {{name: {_quote(source)}, budget: , executed: }}\n")
    functions = previous.functions if previous is not None else ""
    lines.append("functions: |\n" + "".join(f"  {line}\n" for line in functions.splitlines())
                 if functions else "functions: \n")
    lines += ["goals:\n", "  planned: \n", "  achieved: \n", "indicators:\n"]
    rows = previous.indicators if previous is not None else ()
    for row in rows:
        fields = {"level1": row.level1, "level2": row.level2, "level3": row.level3, "content": row.content,
                  "target": row.target.text if row.target else "", "weight": row.weight, "direction": row.direction,
                  "nature": row.nature, "unit": row.unit}
        kept = [f"{key}: {_quote(fields[key])}" for key in CARRIED if fields[key] not in ("", None)]
        if row.content or (row.named_by_level3 and row.level3):
            kept += ["actual: ", "score: "]
        lines.append("  - {" + ", ".join(kept) + "}\n")
    if not rows:
        level1 = next(iter(layout.levels))
        level2 = layout.levels[level1][0] if layout.levels[level1] else ""
        cells = [c.field for c in layout.body_columns if c.field not in ("core",)]
        lines.append("  - {" + ", ".join([f"level1: {_quote(level1)}", f"level2: {_quote(level2) if level2 else ''}"]
                                         + [f"{c}: " for c in cells]) + "}\n")
    lines.append("reported: {total: }\n")
    return "".join(lines)
