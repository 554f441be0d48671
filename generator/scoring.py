"""Recompute every rate, score, total and grade of a form under one rule profile.

Inputs and results are :class:`decimal.Decimal`; every quotient in between is an exact
:class:`fractions.Fraction`, so a number is the exact result rounded once, where the
profile says (the rate in percent when ``rate_first``, then each score, then the total).
Dividing first in Decimal would round midway: 3 × 5.35/30 came out 0.5349…9 → 0.53
instead of the exact 0.535 → 0.54. The
rules are DESIGN §3.1, with every jurisdictional difference (§3.2) read from the
:class:`~generator.profiles.Profile`, never hard-coded here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from fractions import Fraction

from .model import Indicator, Report
from .profiles import Profile
from .values import AT_LEAST, AT_MOST, LESS, MORE, UnitMismatch, common_numbers

ZERO, HUNDRED = Decimal(0), Decimal(100)
_WIDE = Context(prec=60)  # validated amounts (≤ 1e15, ≤ 6 places) never overflow this
_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "truncate": ROUND_DOWN}


def round_to(value: Decimal | Fraction, places: int, mode: str) -> Decimal:
    """Round an exact value to ``places`` decimals by the profile's mode (truncate goes toward zero)."""
    if isinstance(value, Decimal):
        return value.quantize(Decimal(1).scaleb(-places), rounding=_MODES[mode], context=_WIDE)
    scaled = value * 10 ** places
    whole, rest = divmod(abs(scaled.numerator), scaled.denominator)
    twice = 2 * rest
    if mode == "half_up":
        whole += twice >= scaled.denominator
    elif mode == "half_even":
        whole += twice > scaled.denominator or (twice == scaled.denominator and whole % 2 == 1)
    elif mode != "truncate":
        raise ValueError(f"unknown rounding mode {mode!r}")
    return Decimal(-whole if scaled < 0 else whole).scaleb(-places)


@dataclass(frozen=True)
class FundTotals:
    """A, B and C summed over the sources (None where a source's cell is illegible)."""

    budget: Decimal | None
    executed: Decimal | None
    transfer: Decimal


@dataclass(frozen=True)
class ExecutionResult:
    totals: FundTotals
    weight: Decimal
    rate: Decimal | None          # percent, rounded to the profile's places
    score: Decimal
    reported_rate: Decimal | None
    reported_score: Decimal | None


@dataclass(frozen=True)
class IndicatorResult:
    """How one row was scored. ``score`` is what enters the total."""

    indicator: Indicator
    kind: str                      # quantity | qualitative | empty | not_applicable | illegible
    score: Decimal | None
    computed: Decimal | None = None  # the formula's score, for quantities
    band: tuple[Decimal, Decimal] | None = None  # allowed range, for qualitative rows
    achievement: str | None = None   # achieved | partial | missed
    direction: str | None = None     # higher | lower
    met: bool | None = None
    ratio: Fraction | None = None    # exact actual/target (higher) or target/actual (lower)
    over_achieved: bool = False
    unit_mismatch: str = ""
    unparsed: bool = False           # a value has digits but is not a readable quantity
    mixed: bool = False              # one side is a quantity, the other text

    @property
    def reported(self) -> Decimal | None:
        return self.indicator.score


@dataclass(frozen=True)
class ScoredReport:
    report: Report
    profile: Profile
    execution: ExecutionResult
    indicators: tuple[IndicatorResult, ...]
    total: Decimal
    grade: str
    not_applicable_weight: Decimal = ZERO
    findings: tuple = field(default=())


def score_report(report: Report, profile: Profile) -> ScoredReport:
    """The whole form: execution, each indicator, total and grade."""
    execution = score_execution(report, profile)
    rows = tuple(score_indicator(row, profile) for row in report.indicators)
    subtotal = execution.score + sum((r.score for r in rows if r.score is not None), ZERO)
    na_weight = sum((r.indicator.weight or ZERO for r in rows if r.kind == "not_applicable"), ZERO)
    if na_weight and profile.not_applicable == "rescale" and na_weight < HUNDRED:
        subtotal = Fraction(subtotal) * 100 / (100 - Fraction(na_weight))
    total = round_to(subtotal, profile.places, profile.rounding_mode)
    return ScoredReport(report, profile, execution, rows, total, grade_for(total, profile), na_weight)


def grade_for(total: Decimal, profile: Profile) -> str:
    for grade, minimum in profile.grades:
        if total >= minimum:
            return grade
    return profile.grades[-1][0]


def fund_totals(report: Report) -> FundTotals:
    """Sum the sources; where a cell is illegible, fall back to the printed 年度资金总额."""
    def total(name: str) -> Decimal | None:
        if any(name in s.illegible for s in report.sources):
            return getattr(report.reported_funds, name)
        return sum((getattr(s, name) or ZERO for s in report.sources), ZERO)

    return FundTotals(total("budget"), total("executed"), total("transfer") or ZERO)


def execution_rate(totals: FundTotals, profile: Profile) -> Fraction | None:
    """The exact rate (1 = 100 %); None when A is zero or unknown."""
    if not totals.budget or totals.executed is None:
        return None
    executed = totals.executed
    if profile.rate_basis == "net_of_transfer":
        executed -= totals.transfer
    return Fraction(executed) / Fraction(totals.budget)


def score_execution(report: Report, profile: Profile) -> ExecutionResult:
    places, mode = profile.places, profile.rounding_mode
    weight = report.funds_weight if report.funds_weight is not None else profile.execution_weight
    totals = fund_totals(report)
    raw = execution_rate(totals, profile)
    reported = report.reported_funds
    if raw is None:
        return ExecutionResult(totals, weight, None, round_to(ZERO, places, mode),
                               reported.rate, reported.score)
    percent = round_to(raw * 100, places, mode)
    rate = Fraction(percent) / 100 if profile.rate_first else raw
    score = round_to(execution_points(rate, weight, profile), places, mode)
    return ExecutionResult(totals, weight, percent, score, reported.rate, reported.score)


def execution_points(rate: Fraction | Decimal, weight: Decimal, profile: Profile) -> Fraction:
    """Exact points for an execution rate (1 = 100 %) under the profile's method."""
    rate = Fraction(rate)
    if profile.execution_method == "capped":
        share = min(max(rate, Fraction(0)), Fraction(1))
    elif profile.execution_method == "symmetric_deviation":
        share = max(Fraction(0), 1 - abs(rate - 1))
    else:  # step_bands: the first band whose threshold the rate reaches
        percent = rate * 100
        share = next((Fraction(s) / 100 for minimum, s in profile.step_bands if percent >= Fraction(minimum)),
                     Fraction(0))
    return Fraction(weight) * share


def score_indicator(row: Indicator, profile: Profile) -> IndicatorResult:
    if row.is_empty_row:
        return IndicatorResult(row, "empty", None)
    if not row.applicable:
        return IndicatorResult(row, "not_applicable", None)
    if row.weight is None:
        return IndicatorResult(row, "illegible", None)
    target, actual = row.target, row.actual
    if target and actual and target.is_quantity and actual.is_quantity:
        try:
            t, a, _unit = common_numbers(target, actual)
        except UnitMismatch as exc:
            return _score_by_band(row, profile, unit_mismatch=str(exc))
        return _score_quantity(row, profile, t, a)
    unparsed = any(v is not None and v.kind == "unparsed" for v in (target, actual))
    mixed = bool(target and actual and target.is_quantity != actual.is_quantity) and not unparsed
    return _score_by_band(row, profile, unparsed=unparsed, mixed=mixed)


def direction_of(row: Indicator, profile: Profile) -> str:
    """Explicit ``direction`` wins, then the target's comparator, then the level-2 default."""
    if row.direction:
        return row.direction
    comparator = row.target.comparator if row.target else None
    if comparator in (AT_LEAST, MORE):
        return "higher"
    if comparator in (AT_MOST, LESS):
        return "lower"
    return "lower" if row.level2 in profile.lower_is_better else "higher"


def _score_quantity(row: Indicator, profile: Profile, t: Decimal, a: Decimal) -> IndicatorResult:
    weight, direction = row.weight, direction_of(row, profile)
    if direction == "higher":
        met = a >= t
        ratio = Fraction(1) if t <= ZERO else Fraction(a) / Fraction(t)
    else:
        met = a <= t
        ratio = Fraction(1) if a <= ZERO else Fraction(t) / Fraction(a)
    share = Fraction(1) if met else min(Fraction(1), max(Fraction(0), ratio))
    computed = round_to(Fraction(weight) * share, profile.places, profile.rounding_mode)
    over_limit = Fraction(profile.over_achievement_ratio)
    over = met and ratio >= over_limit if direction == "higher" else (met and a > ZERO and ratio >= over_limit)
    score = computed
    # 按偏离度: an evaluator may cut an over-achieved score; accept the cut, audit flags it.
    if over and row.score is not None and ZERO <= row.score < computed:
        score = row.score
    return IndicatorResult(row, "quantity", score, computed=computed, direction=direction,
                           met=met, ratio=ratio, over_achieved=over)


def _score_by_band(row: Indicator, profile: Profile, *, unit_mismatch: str = "",
                   unparsed: bool = False, mixed: bool = False) -> IndicatorResult:
    """Qualitative rows: the evaluator picks a score inside the band; we check it."""
    achievement = row.assessment
    same = row.target and row.actual and _same_text(row.target.text, row.actual.text)
    if achievement is None and same and not unit_mismatch:
        achievement = "achieved"
    weight = row.weight
    if achievement:
        low, high = profile.qualitative_bands[achievement]
        band = (_WIDE.divide(_WIDE.multiply(weight, low), HUNDRED), _WIDE.divide(_WIDE.multiply(weight, high), HUNDRED))
    else:
        band = (ZERO, weight)
    if row.score is None:
        score = band[1] if achievement == "achieved" else None
    else:
        score = min(max(row.score, band[0]), band[1])  # outside the band: nearest edge
    if score is not None:
        score = round_to(score, profile.places, profile.rounding_mode)
    met = None if achievement is None else achievement == "achieved"
    return IndicatorResult(row, "qualitative", score, band=band, achievement=achievement,
                           met=met, unit_mismatch=unit_mismatch, unparsed=unparsed, mixed=mixed)


def _same_text(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())
