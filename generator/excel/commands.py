"""Excel round trip: a fill-in workbook laid out like the official form, export and import.

Departments fill their self-evaluation forms in Excel. ``perfsite template`` writes a blank
workbook for a form layout (``--layout``: the national department form by default, the national
project form, or any shipped provincial layout), ``perfsite export`` writes every record as one
filled workbook (``<out>/<slug>/<year>.xlsx`` or ``<year>-<project>.xlsx``, the same layout as
``content/departments``) and ``perfsite import`` turns filled workbooks back into YAML records
(a project form's 项目标识 cell names its file ``<year>-<项目标识>.yaml``). Like import, template
and export replace an existing file only with ``--overwrite``.

This module is the public face and the three commands; the work is done in pipeline order by

* :mod:`generator.excel.layout` — where every label, cell and column sits on the sheet;
* :mod:`generator.excel.numbers` — numbers between Excel and records, never through floats;
* :mod:`generator.excel.yaml_text` — deterministic YAML text for imported records;
* :mod:`generator.excel.formsheet` — one form sheet laid out from record data;
* :mod:`generator.excel.write` — the template and the export, byte for byte stable;
* :mod:`generator.excel.unpack` — a workbook file checked before anything parses it (sizes, DTDs);
* :mod:`generator.excel.grid` — a workbook file as guarded grids of cells;
* :mod:`generator.excel.read` — one form sheet → record data located by cell;
* :mod:`generator.excel.importer` — filled workbooks → YAML records, all or nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ..read.layouts import available_layouts
from .importer import import_workbooks
from .layout import HELP_SHEET, ILLEGIBLE, SHEET
from .write import export_records, write_template

__all__ = ["ILLEGIBLE", "add_commands", "export_records", "import_workbooks", "write_template"]


def run_template(args) -> int:
    write_template(args.out, layout=args.layout, overwrite=args.overwrite)
    print(f"wrote the fill-in template {args.out} (sheets {SHEET} and {HELP_SHEET}"
          + (f"; layout {args.layout})" if args.layout else ")"))
    return 0


def run_import(args) -> int:
    written = import_workbooks(args.files, args.project, overwrite=args.overwrite)
    forms = sum(1 for path in written if path.name != "department.yaml")
    departments = len(written) - forms
    print(f"imported {forms} form{'s' if forms != 1 else ''} from {len(args.files)} workbook"
          f"{'s' if len(args.files) != 1 else ''} into content/departments "
          f"({departments} department.yaml written)")
    return 0


def run_export(args) -> int:
    out = args.out if args.out is not None else args.project / "excel"
    written = export_records(args.project, out, overwrite=args.overwrite)
    print(f"exported {len(written)} form{'s' if len(written) != 1 else ''} to {out} (one workbook per form, "
          "<slug>/<year>.xlsx or <slug>/<year>-<project>.xlsx)")
    return 0


def add_commands(sub, common: argparse.ArgumentParser) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add ``template``, ``import`` and ``export`` to the CLI's subparsers; returns name → handler."""
    template = sub.add_parser("template", help="write a blank Excel fill-in workbook of the form")
    template.add_argument("out", metavar="OUT.xlsx", help="the workbook to write (a name ending in / is a folder)")
    template.add_argument("--layout", choices=available_layouts(), metavar="NAME",
                          help="the form layout (perfsite profiles lists them): "
                               + ", ".join(available_layouts()) + "; default: the national department form")
    template.add_argument("--overwrite", action="store_true", help="replace OUT.xlsx if it exists")
    template.set_defaults(func=run_template)

    imp = sub.add_parser("import", parents=[common], help="turn filled Excel workbooks into YAML records")
    imp.add_argument("files", type=Path, nargs="+", metavar="FILE.xlsx", help="filled workbooks")
    imp.add_argument("--overwrite", action="store_true", help="replace records that already exist")
    imp.set_defaults(func=run_import)

    exp = sub.add_parser("export", parents=[common], help="write every form as an Excel workbook")
    exp.add_argument("-o", "--out", type=Path, metavar="DIR", help="output folder (default: DIR/excel)")
    exp.add_argument("--overwrite", action="store_true", help="replace workbooks that already exist")
    exp.set_defaults(func=run_export)
    return {"template": run_template, "import": run_import, "export": run_export}
