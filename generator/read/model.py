"""The record model: what one department and one department-year form say.

Plain frozen dataclasses built by :mod:`generator.read.records` after validation, so every
later stage can trust the types: money and weights are Decimal, texts are str, target
and actual are parsed :class:`~generator.read.values.Value` objects. Nothing here computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ..errors import Location
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
    illegible: tuple[str, ...] = ()


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
    illegible: tuple[str, ...] = ()
    note: str = ""
    base: Value | None = None  # what a relative target (提升10%) is relative to, when the form gives it

    @property
    def is_empty_row(self) -> bool:
        """The official form prints every 二级 row, even with nothing in it."""
        return not self.content and "content" not in self.illegible

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


@dataclass(frozen=True)
class Report:
    """One department-year form as the department reported it."""

    department: Department
    year: int
    form: str
    sources: tuple[FundSource, ...]
    funds_weight: Decimal | None = None
    reported_funds: ReportedFunds = ReportedFunds()
    units: int | None = None
    money_unit: str = "万元"
    project: str = ""
    functions: str = ""
    goals_planned: str = ""
    goals_achieved: str = ""
    indicators: tuple[Indicator, ...] = ()
    reported_total: Decimal | None = None
    reported_grade: str | None = None
    published: str = ""
    source: str = ""
    notes: str = ""
    src_path: str = ""
    doc: Document | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> tuple[str, int]:
        return (self.department.slug, self.year)

    def where(self, path: KeyPath) -> Location:
        """Source location of a key path, e.g. ``('indicators', 3, 'score')``."""
        if self.doc is None:
            return Location(self.src_path)
        return self.doc.where(path)
