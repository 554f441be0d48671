"""Recompute every rate, score, total and grade of a form under one rule profile.

Inputs and results are :class:`decimal.Decimal`; every quotient in between is an exact
:class:`fractions.Fraction`, so a number is the exact result rounded once, where the
profile says (the rate in percent when ``rate_first``, then each score, then the total).
Dividing first in Decimal would round midway: 3 × 5.35/30 came out 0.5349…9 → 0.53
instead of the exact 0.535 → 0.54. The
rules are DESIGN §3.1, with every jurisdictional difference (§3.2) read from the
:class:`~generator.read.profiles.Profile`, never hard-coded here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from fractions import Fraction

from ..read.model import Indicator, Report
from ..read.profiles import Profile, phrase_key
from ..read.values import AT_LEAST, AT_MOST, EQUAL, LESS, MORE, UnitMismatch, Value, common_numbers

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
class Interval:
    """A number known only to lie between two bounds, because part of the form is unknown."""

    low: Decimal
    high: Decimal

    def __str__(self) -> str:
        return f"{format(self.low, 'f')}–{format(self.high, 'f')}"

    def __contains__(self, value: Decimal) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class ExecutionResult:
    totals: FundTotals
    weight: Decimal
    rate: Decimal | None          # percent, rounded to the profile's places
    score: Decimal                # the low end when the score cannot be known (``score_high`` set)
    reported_rate: Decimal | None
    reported_score: Decimal | None
    score_high: Decimal | None = None   # set when an amount is illegible and no rate was printed
    from_printed_rate: bool = False     # amounts illegible: scored from the rate the form prints

    @property
    def score_shown(self) -> Decimal | Interval:
        return self.score if self.score_high is None else Interval(self.score, self.score_high)


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
    share: Fraction | None = None    # exact share of the weight the formula gives, before rounding
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
    total: Decimal                 # the recomputed total; its low end when parts are unknown
    grade: str                     # one grade, or a range such as 良–优 when the total's range spans grades
    not_applicable_weight: Decimal = ZERO
    findings: tuple = field(default=())
    total_high: Decimal | None = None  # set only when illegible or missing parts leave the total open
    unknown_weight: Decimal = ZERO     # weight not printed legibly: what the form's 100 leaves for it

    @property
    def total_known(self) -> bool:
        return self.total_high is None

    @property
    def total_shown(self) -> Decimal | Interval:
        """The total as it may be published: a number, or the range it lies in."""
        return self.total if self.total_high is None else Interval(self.total, self.total_high)


def score_report(report: Report, profile: Profile) -> ScoredReport:
    """The whole form: execution, each indicator, total and grade."""
    execution = score_execution(report, profile)
    rows = tuple(score_indicator(row, profile) for row in report.indicators)
    na_weight = sum((r.indicator.weight or ZERO for r in rows if r.kind == "not_applicable"), ZERO)
    unknown_weight = _unknown_weight(execution, rows, report.missing("indicators"))
    low = execution.score + sum((r.score for r in rows if r.score is not None), ZERO)
    high = (execution.score_high if execution.score_high is not None else execution.score) + unknown_weight + sum(
        (r.score if r.score is not None else _open_band(r)[1] for r in rows if r.kind in SCORED_KINDS), ZERO)
    low += sum((_open_band(r)[0] for r in rows if r.kind in SCORED_KINDS and r.score is None), ZERO)
    total, total_high = (_total(value, na_weight, profile) for value in (low, high))
    grade_low, grade_high = grade_for(total, profile), grade_for(total_high, profile)
    grade = grade_low if grade_low == grade_high else f"{grade_low}–{grade_high}"
    return ScoredReport(report, profile, execution, rows, total, grade, na_weight,
                        total_high=None if total_high == total else total_high, unknown_weight=unknown_weight)


SCORED_KINDS = ("quantity", "qualitative", "coefficient", "weightless")


def _open_band(row: IndicatorResult) -> tuple[Decimal, Decimal]:
    """What a row whose score is unknown may still have scored."""
    return row.band if row.band is not None else (ZERO, row.indicator.weight or ZERO)


def _unknown_weight(execution: ExecutionResult, rows: tuple[IndicatorResult, ...], rows_missing: bool = False
                    ) -> Decimal:
    """The weight of rows whose 分值 is illegible, or of rows the transcription left out: what is
    left of the form's 100 (zero if nothing is)."""
    if not rows_missing and not any(r.kind == "illegible" for r in rows):
        return ZERO
    known = execution.weight + sum((r.indicator.weight or ZERO for r in rows), ZERO)
    return max(ZERO, HUNDRED - known)


def _total(subtotal: Decimal, na_weight: Decimal, profile: Profile) -> Decimal:
    if na_weight and profile.not_applicable == "rescale" and na_weight < HUNDRED:
        return round_to(Fraction(subtotal) * 100 / (100 - Fraction(na_weight)), profile.places, profile.rounding_mode)
    return round_to(subtotal, profile.places, profile.rounding_mode)


def possible_grades(scored: ScoredReport) -> tuple[str, ...]:
    """Every grade a total in the form's range could earn (one when the total is known)."""
    names = [name for name, _minimum in scored.profile.grades]
    high = scored.total if scored.total_high is None else scored.total_high
    best, worst = (names.index(grade_for(value, scored.profile)) for value in (high, scored.total))
    return tuple(names[best:worst + 1])


def grade_for(total: Decimal, profile: Profile) -> str:
    """The first grade whose minimum the total reaches (``at_least``: 90 is 优) or passes
    (``above``: 90 is 良); below every minimum, the lowest grade."""
    above = profile.grade_boundary == "above"
    for grade, minimum in profile.grades:
        if total > minimum or (total == minimum and not above):
            return grade
    return profile.grades[-1][0]


def fund_totals(report: Report) -> FundTotals:
    """Sum the sources; where a cell is illegible, or the form gives no sources, take the printed
    年度资金总额 (None when that is not legible either: unknown, never zero)."""
    printed = report.reported_funds

    def total(name: str) -> Decimal | None:
        if report.sources and not any(name in s.illegible for s in report.sources):
            return sum((getattr(s, name) or ZERO for s in report.sources), ZERO)
        return getattr(printed, name)

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
    if raw is None and totals.budget is not None and totals.executed is not None:  # a zero budget scores 0
        return ExecutionResult(totals, weight, None, round_to(ZERO, places, mode), reported.rate, reported.score)
    if raw is None and reported.rate is not None:  # an amount is illegible: the printed rate is all there is
        score = round_to(execution_points(Fraction(reported.rate) / 100, weight, profile), places, mode)
        return ExecutionResult(totals, weight, None, score, reported.rate, reported.score, from_printed_rate=True)
    if raw is None:  # an amount is illegible and no rate printed: anything from 0 to the weight
        return ExecutionResult(totals, weight, None, round_to(ZERO, places, mode), reported.rate,
                               reported.score, score_high=round_to(weight, places, mode))
    percent = round_to(raw * 100, profile.rate_places, profile.rate_mode)
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
        if row.score is not None and "weight" not in row.illegible:
            # printed 得分 without 分值 (some provinces print no weights): kept as printed, never dropped
            return IndicatorResult(row, "weightless", round_to(row.score, profile.places, profile.rounding_mode))
        return IndicatorResult(row, "illegible", None)
    if row.coefficient is not None:  # 得分系数 (%) × 分值: the form states the share itself
        share = Fraction(row.coefficient) / 100
        computed = round_to(Fraction(row.weight) * share, profile.places, profile.rounding_mode)
        return IndicatorResult(row, "coefficient", computed, computed=computed, share=share)
    target, actual = row.target, row.actual
    if target and target.kind == "relative" and actual and actual.is_quantity and row.base and row.base.is_quantity:
        target = relative_target(target, row.base) or target  # unusable: checked as qualitative below
    if target and actual and target.is_quantity and actual.is_quantity:
        try:
            t, a, _unit = common_numbers(target, actual)
        except UnitMismatch as exc:
            return _score_by_band(row, profile, unit_mismatch=str(exc))
        return _score_quantity(row, profile, t, a)
    unparsed = any(v is not None and v.kind == "unparsed" for v in (target, actual))
    relative = target is not None and target.kind == "relative"  # no base: checked as qualitative
    mixed = bool(target and actual and target.is_quantity != actual.is_quantity) and not (unparsed or relative)
    return _score_by_band(row, profile, unparsed=unparsed, mixed=mixed)


def relative_target(target: Value, base: Value) -> Value | None:
    """The level a relative target asks for, from the base the record gives: 提升10% on 80万人次
    is ≥ 88万人次 (80 × 1.10), 下降5个百分点 on 90% is ≤ 85%, 增加5个 on 20个 is ≥ 25个. None when the
    pair does not say one level: 提升10% on a rate (10 % of it, or 10 points?), points on a count,
    units that differ, or a level below zero."""
    change, b = target.number, base.number  # the change is signed: 下降5 is −5
    if target.unit == "百分点" and base.unit == "%":
        level, unit = _WIDE.add(b, change), "%"
    elif target.unit == "%" and base.unit not in ("%", "百分点"):
        level, unit = _WIDE.divide(_WIDE.multiply(b, _WIDE.add(HUNDRED, change)), HUNDRED), base.unit
    elif target.unit == base.unit and target.unit not in ("%", "百分点"):
        level, unit = _WIDE.add(b, change), base.unit
    else:
        return None
    return None if level < ZERO else Value(target.text, "quantity", target.comparator, level, unit)


def direction_of(row: Indicator, profile: Profile) -> str:
    """Explicit ``direction`` wins, then the target's comparator, then the level-2 default."""
    if row.direction:
        return row.direction
    comparator = row.target.comparator if row.target else None
    if comparator in (AT_LEAST, MORE):
        return "higher"
    if comparator in (AT_MOST, LESS):
        return "lower"
    if row.level2 in profile.lower_is_better:
        return "lower"
    names = (row.content, row.level3)
    return "lower" if any(p in name for p in profile.lower_is_better_patterns for name in names) else "higher"


def _score_quantity(row: Indicator, profile: Profile, t: Decimal, a: Decimal) -> IndicatorResult:
    weight, direction = row.weight, direction_of(row, profile)
    comparator = row.target.comparator if row.target else None
    if comparator == EQUAL and profile.exact_targets == "proportional_both_ways":
        return _score_exact(row, profile, t, a, direction)
    if direction == "higher":
        met = a > t or (a == t and not _strict(row, profile, MORE))
        ratio = Fraction(1) if t <= ZERO else Fraction(a) / Fraction(t)
    else:
        met = a < t or (a == t and not _strict(row, profile, LESS))
        ratio = Fraction(1) if a <= ZERO else Fraction(t) / Fraction(a)
    if met:
        share = Fraction(1)
    elif direction == "lower":
        share = reverse_share(ratio, profile.reverse_formula)
    else:
        share = min(Fraction(1), max(Fraction(0), ratio))
    computed = round_to(Fraction(weight) * share, profile.places, profile.rounding_mode)
    over_limit = Fraction(profile.over_achievement_ratio)
    over = met and ratio >= over_limit if direction == "higher" else (met and a > ZERO and ratio >= over_limit)
    score = computed
    # 按偏离度: an evaluator may cut an over-achieved score; accept the cut, rounded like any
    # score (the audit flags it).
    if over and row.score is not None and row.score >= ZERO:
        score = min(computed, round_to(row.score, profile.places, profile.rounding_mode))
    return IndicatorResult(row, "quantity", score, computed=computed, direction=direction,
                           met=met, ratio=ratio, share=share, over_achieved=over)


def reverse_share(ratio: Fraction, formula: str) -> Fraction:
    """A missed lower-is-better row's share from ratio = target/actual: A/B, or 1 − (B−A)/A = 2 − B/A
    (zero from B ≥ 2A)."""
    if formula == "ratio":
        return min(Fraction(1), max(Fraction(0), ratio))
    return max(Fraction(0), 2 - 1 / ratio) if ratio > 0 else Fraction(0)


def _strict(row: Indicator, profile: Profile, symbol: str) -> bool:
    """Whether equality misses a ``>``/``<`` target: only under ``strict_comparators``, never for
    an approximate target (``300余篇``), and not when the actual itself says more (less) than."""
    target, actual = row.target, row.actual
    return (profile.strict_comparators and target.comparator == symbol
            and not any(c in target.text for c in "余多") and actual.comparator != symbol)


def _score_exact(row: Indicator, profile: Profile, t: Decimal, a: Decimal, direction: str) -> IndicatorResult:
    """An ``=`` target under ``proportional_both_ways``: met only when equal; any deviation,
    over or under, scores weight × smaller/larger (0 when one side is 0 and the other not)."""
    low, high = sorted((Fraction(t), Fraction(a)))
    met = t == a
    share = Fraction(1) if met else (max(Fraction(0), low) / high if high > 0 else Fraction(0))
    computed = round_to(Fraction(row.weight) * share, profile.places, profile.rounding_mode)
    return IndicatorResult(row, "quantity", computed, computed=computed, direction=direction,
                           met=met, ratio=share, share=share)


def _score_by_band(row: Indicator, profile: Profile, *, unit_mismatch: str = "",
                   unparsed: bool = False, mixed: bool = False) -> IndicatorResult:
    """Qualitative rows: the evaluator picks a score inside the band; we check it."""
    achievement = row.assessment
    same = row.target and row.actual and _same_text(row.target.text, row.actual.text)
    if achievement is None and same and not unit_mismatch:
        achievement = "achieved"
    if achievement is None and _says_achieved(row, profile):
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


def _says_achieved(row: Indicator, profile: Profile) -> bool:
    """The actual is one of the profile's ``achieved_phrases`` (达成预期指标, 已完成 …), word for
    word, against a written target that is not a number the phrase could fall short of."""
    target, actual = row.target, row.actual
    return (actual is not None and actual.kind == "qualitative" and target is not None and not target.is_quantity
            and phrase_key(actual.text) in profile.achieved_phrases)


def _same_text(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())
