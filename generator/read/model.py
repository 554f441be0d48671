"""The record model: what one department and one department-year form say.

Plain frozen dataclasses built by :mod:`generator.read.records` after validation, so every
later stage can trust the types: money and weights are Decimal, texts are str, target
and actual are parsed :class:`~generator.read.values.Value` objects. Nothing here computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ..errors import Location
from .layouts import Layout, shipped_layout
from .values import Value
from .yamlsource import Document, KeyPath


@dataclass(frozen=True)
class Department:
    slug: str
    name: str
    region: str = ""
    code: str = ""
    fictional: bool = False
    note: str = ""
    src_path: str = ""


@dataclass(frozen=True)
class FundSource:
    name: str
    budget: Decimal | None
    executed: Decimal | None
    transfer: Decimal | None = None
    initial_budget: Decimal | None = None
    illegible: tuple[str, ...] = ()  # unknown cells: unreadable on the source, or not transcribed (below)
    rate: Decimal | None = None    # the row's printed 执行率 (some layouts print one per row)
    score: Decimal | None = None   # the row's printed 得分
    untranscribed: tuple[str, ...] = ()  # of ``illegible``: cells the stored copy lacks, not unreadable ones


@dataclass(frozen=True)
class Indicator:
    """One row of the indicator table; ``index`` is its position in ``indicators``."""

    index: int
    level1: str
    level2: str
    level3: str = ""
    content: str = ""
    target: Value | None = None
    actual: Value | None = None
    weight: Decimal | None = None
    score: Decimal | None = None
    reason: str = ""
    measures: str = ""
    direction: str | None = None
    assessment: str | None = None
    applicable: bool = True
    illegible: tuple[str, ...] = ()  # unknown cells: unreadable on the source, or not transcribed (below)
    note: str = ""
    base: Value | None = None  # what a relative target (提升10%) is relative to, when the form gives it
    nature: str = ""                 # 指标性质 printed in a column of its own (=, ≥, ≤, 定性 …)
    unit: str = ""                   # 度量单位 printed in a column of its own
    coefficient: Decimal | None = None  # 得分系数 (%): the score is coefficient × weight / 100
    core: bool | None = None         # 是否核心指标
    named_by_level3: bool = False    # the layout has no 目标内容 column: 三级指标 names the row
    untranscribed: tuple[str, ...] = ()  # of ``illegible``: cells the stored copy lacks, not unreadable ones

    @property
    def is_empty_row(self) -> bool:
        """The official form prints every 二级 row, even with nothing in it."""
        if self.named_by_level3:
            return not (self.content or self.level3) and not {"content", "level3"} & set(self.illegible)
        return not self.content and "content" not in self.illegible

    @property
    def name(self) -> str:
        """What the row measures, for sentences: 目标内容, else 三级指标, else 二级指标."""
        return self.content or self.level3 or self.level2

    @property
    def path(self) -> str:
        return f"indicators[{self.index}]"


@dataclass(frozen=True)
class ReportedFunds:
    """The 年度资金总额 row as printed on the form (all optional)."""

    initial_budget: Decimal | None = None
    budget: Decimal | None = None
    executed: Decimal | None = None
    transfer: Decimal | None = None
    rate: Decimal | None = None
    score: Decimal | None = None
    illegible: tuple[str, ...] = ()  # unknown cells: unreadable, or not transcribed (below)
    untranscribed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Untranscribed:
    """A part of the source that was not transcribed (部分转录): unknown, never zero."""

    part: str   # funds | goals | indicators | scores | total | other
    note: str = ""


@dataclass(frozen=True)
class Report:
    """One form as the department reported it: its department-wide form of a year
    (``project_id`` empty) or one of its project forms (``<year>-<project_id>.yaml``)."""

    department: Department
    year: int
    form: str
    sources: tuple[FundSource, ...]
    project_id: str = ""
    funds_weight: Decimal | None = None
    reported_funds: ReportedFunds = ReportedFunds()
    units: int | None = None
    money_unit: str = "万元"
    project: str = ""
    project_code: str = ""
    authority: str = ""     # 主管部门
    implementer: str = ""   # 实施单位
    layout: Layout = field(default_factory=lambda: shipped_layout("national-department"))
    profile_name: str = ""  # the record's own profile; empty: the site's
    untranscribed: tuple[Untranscribed, ...] = ()
    functions: str = ""
    goals_planned: str = ""
    goals_achieved: str = ""
    indicators: tuple[Indicator, ...] = ()
    reported_total: Decimal | None = None
    reported_grade: str | None = None
    published: str = ""
    source: str = ""
    source_url: str = ""  # the published original (web page, PDF, scan), linked beside the transcription
    notes: str = ""
    src_path: str = ""
    doc: Document | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.department.slug, self.year, self.project_id)

    @property
    def is_project(self) -> bool:
        return self.form == "project"

    def missing(self, part: str) -> bool:
        """Whether a part of the source (``funds``, ``indicators`` …) was not transcribed."""
        return any(u.part == part for u in self.untranscribed)

    def where(self, path: KeyPath) -> Location:
        """Source location of a key path, e.g. ``('indicators', 3, 'score')``."""
        if self.doc is None:
            return Location(self.src_path)
        return self.doc.where(path)
