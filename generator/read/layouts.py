"""Form layouts: what a form prints, as data (DESIGN §7), shipped as YAML like the profiles.

A profile says how to score; a layout says what is printed: the form kind it is for, the
funds table's rows and columns with the form's own words, the indicator hierarchy (the 一级
names and, for each, the allowed 二级 names; an empty list allows any) with any standard
weights, and the indicator table's columns in order with their headers. A record names its
layout (``layout:``) or takes the site's default for its form kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path

from ..errors import Problem
from .validate import validate
from .yamlsource import read_yaml

LAYOUT_DIR = Path(__file__).resolve().parent / "layouts"
FORM_KINDS = ("department", "project")
DEFAULT_LAYOUTS = {"department": "national-department", "project": "national-project"}

FUNDS_FIELDS = ["initial_budget", "budget", "executed", "transfer", "weight", "rate", "score"]
INDICATOR_COLUMNS = ["level1", "level2", "level3", "content", "nature", "target", "unit", "actual",
                     "weight", "coefficient", "score", "core", "reason", "measures", "note"]


def _columns(fields: list[str], title: str) -> dict:
    return {"type": "array", "title": title, "minItems": 1,
            "items": {"type": "object", "additionalProperties": False, "required": ["field", "header"],
                      "properties": {"field": {"type": "string", "enum": fields, "title": "字段"},
                                     "header": {"type": "string", "minLength": 1, "title": "表头文字"}}}}


LAYOUT_SCHEMA = {
    "title": "表样",
    "type": "object",
    "additionalProperties": False,
    "required": ["title", "regulation", "form", "funds", "levels", "indicator_columns"],
    "properties": {
        "title": {"type": "string", "title": "表样名称", "minLength": 1},
        "regulation": {"type": "string", "title": "依据的文件或表样", "minLength": 1},
        "form": {"type": "string", "title": "表的种类", "enum": list(FORM_KINDS)},
        "funds": {
            "type": "object", "title": "资金情况", "additionalProperties": False, "required": ["rows", "columns"],
            "properties": {
                "total": {"type": "string", "title": "合计行名称", "minLength": 1},
                "rows": {"type": "array", "title": "资金来源行（新建表时的默认行）",
                         "items": {"type": "string", "minLength": 1}},
                "columns": _columns(FUNDS_FIELDS, "资金栏目"),
            },
        },
        "levels": {"type": "object", "title": "一级指标及其二级指标（空列表：不限定）",
                   "additionalProperties": {"type": "array", "items": {"type": "string", "minLength": 1}}},
        "level1_weights": {"type": "object", "title": "一级指标标准分值",
                           "additionalProperties": {"type": "number", "minimum": 0, "maximum": 100}},
        "indicator_columns": _columns(INDICATOR_COLUMNS, "指标表栏目"),
    },
}


@dataclass(frozen=True)
class Column:
    field: str
    header: str


@dataclass(frozen=True)
class Layout:
    name: str
    title: str
    regulation: str
    form: str
    total_row: str
    fund_rows: tuple[str, ...]
    fund_columns: tuple[Column, ...]
    levels: dict[str, tuple[str, ...]]
    level1_weights: dict[str, Decimal] | None  # None: not declared (the profile's apply); {}: no standard
    indicator_columns: tuple[Column, ...]

    def header(self, field: str, default: str = "") -> str:
        """The form's own word for an indicator column (or ``default`` when it has none)."""
        return next((c.header for c in self.indicator_columns if c.field == field), default)

    def fund_header(self, field: str, default: str = "") -> str:
        return next((c.header for c in self.fund_columns if c.field == field), default)

    def allows_level2(self, level1: str, level2: str) -> bool:
        allowed = self.levels.get(level1)
        return allowed is not None and (not allowed or level2 in allowed)

    @property
    def has_content_column(self) -> bool:
        """False for layouts (the national project form) whose 三级指标 names what a row measures."""
        return any(c.field == "content" for c in self.indicator_columns)

    @property
    def body_columns(self) -> tuple[Column, ...]:
        """The indicator columns after the merged 一级/二级 cells."""
        return tuple(c for c in self.indicator_columns if c.field not in ("level1", "level2"))


def available_layouts() -> list[str]:
    return list(shipped_layout_names())


@cache
def shipped_layout_names() -> tuple[str, ...]:
    """The shipped layouts: part of the installed package, listed once per process (the build
    cache resolves a layout reference per form it loads)."""
    return tuple(sorted(p.stem for p in LAYOUT_DIR.glob("*.yaml")))


def load_layout(name: str) -> tuple[Layout | None, list[Problem]]:
    doc, problems = read_yaml(LAYOUT_DIR / f"{name}.yaml", f"layouts/{name}.yaml")
    if not problems:
        problems = validate(doc, LAYOUT_SCHEMA)
    if problems:
        return None, problems
    d = doc.data
    funds = d["funds"]
    return Layout(
        name=name, title=d["title"], regulation=d["regulation"], form=d["form"],
        total_row=funds.get("total") or "年度资金总额",
        fund_rows=tuple(funds["rows"]),
        fund_columns=tuple(Column(c["field"], c["header"]) for c in funds["columns"]),
        levels={k: tuple(v) for k, v in d["levels"].items()},
        level1_weights=None if d.get("level1_weights") is None else {
            k: Decimal(v) for k, v in d["level1_weights"].items()},
        indicator_columns=tuple(Column(c["field"], c["header"]) for c in d["indicator_columns"]),
    ), []


def load_layouts() -> tuple[dict[str, Layout], list[Problem]]:
    """Every shipped layout, by name."""
    layouts, problems = {}, []
    for name in available_layouts():
        layout, found = load_layout(name)
        problems += found
        if layout is not None:
            layouts[name] = layout
    return layouts, problems


@cache
def shipped_layout(name: str) -> Layout:
    """A shipped layout by name (shared: every form of a site holds the same few objects)."""
    layout, problems = load_layout(name)
    if layout is None:
        raise ValueError(f"shipped layout {name!r} does not load: {problems}")
    return layout


@dataclass(frozen=True)
class Rules:
    """What a record may name: the layouts, the profile names, and the defaults per form kind."""

    layouts: dict[str, Layout]
    profile_names: tuple[str, ...]
    default_layouts: dict[str, str]

    def default_layout(self, form: str) -> Layout:
        return self.layouts[self.default_layouts[form]]


@lru_cache(maxsize=1)
def shipped_rules() -> Rules:
    """The shipped layouts and profiles with the national defaults (records read without a site)."""
    from .profiles import available_profiles

    return Rules({name: shipped_layout(name) for name in available_layouts()}, tuple(available_profiles()),
                 dict(DEFAULT_LAYOUTS))
