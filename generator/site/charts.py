"""Chart specifications as plain Plotly figure dictionaries, each with its data table.

Building figures through ``plotly.graph_objects`` costs ~2.7 ms a chart, 30x a dict;
tests check that plotly accepts every spec instead. Every chart has a stable id, a
title (its accessible name) and the same numbers as a table next to it.
"""

from __future__ import annotations

import html
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from fractions import Fraction
from operator import attrgetter

from ..read.profiles import Profile
from ..score.scoring import Interval, ScoredReport, round_to

FONT = "WenQuanYi Micro Hei, Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"
COLORS = ["#1f4e79", "#c0504d", "#9bbb59", "#8064a2", "#4bacc6", "#f79646"]
PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["sendDataToCloud", "lasso2d", "select2d"]}


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    figure: dict
    headers: tuple[str, ...]
    rows: tuple[tuple, ...]


def label(text: str) -> str:
    """Record text as a chart label. Plotly reads tags such as <a href>, <b> and <span style>
    in labels as formatting; escaped, it shows them as the characters they are."""
    return html.escape(text, quote=False)


def _ranged(values: list, axis: str) -> tuple[list, dict]:
    """Plot a range as its low end with an error bar up to its high end (only ranges get one)."""
    lows = [v.low if isinstance(v, Interval) else v for v in values]
    if not any(isinstance(v, Interval) for v in values):
        return lows, {}
    ups = [v.high - v.low if isinstance(v, Interval) else Decimal(0) for v in values]
    return lows, {f"error_{axis}": {"type": "data", "symmetric": False, "array": ups, "arrayminus": [0] * len(ups)}}


def fitted_range(values: list, ceiling: Decimal | None = None) -> list[Decimal] | None:
    """An axis range that fits the data (ranges by both ends) with a margin, so a spread of
    95–99 points is not flattened against 0–100; None when there is nothing to fit."""
    ends = [e for v in values if v is not None for e in ((v.low, v.high) if isinstance(v, Interval) else (v,))]
    if not ends:
        return None
    low, high = min(ends), max(ends)
    pad = max((high - low) * Decimal("0.15"), Decimal(1))
    top = (high + pad).to_integral_value(ROUND_CEILING)
    return [max(Decimal(0), (low - pad).to_integral_value(ROUND_FLOOR)), top if ceiling is None else min(top, ceiling)]


def _layout(title: str, **extra) -> dict:
    layout = {
        "title": {"text": title, "font": {"size": 15}},
        "font": {"family": FONT, "size": 12},
        "margin": {"l": 60, "r": 20, "t": 50, "b": 60},
        "height": 340,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "colorway": COLORS,
        "legend": {"orientation": "h", "y": -0.2},
    }
    layout.update(extra)
    return layout


def form_execution_chart(form: ScoredReport, t: dict) -> Chart | None:
    """Budget (A) against executed (B) for each fund source (or the 年度资金总额 row of a form that
    gives no sources); None when no amount is known. Horizontal bars: source names stay readable."""
    report = form.report
    sources = [(s.name, s.budget, s.executed) for s in report.sources]
    if not sources:
        totals = form.execution.totals
        sources = [(report.layout.total_row, totals.budget, totals.executed)]
    if all(budget is None and executed is None for _, budget, executed in sources):
        return None
    names = [label(name) for name, _, _ in sources][::-1]
    figure = {
        "data": [
            {"type": "bar", "orientation": "h", "name": t["budget"], "y": names,
             "x": [budget for _, budget, _ in sources][::-1]},
            {"type": "bar", "orientation": "h", "name": t["executed"], "y": names,
             "x": [executed for _, _, executed in sources][::-1]},
        ],
        "layout": _layout(t["chart_execution"], barmode="group", height=max(240, 70 * len(sources) + 140),
                          xaxis={"title": {"text": report.money_unit}, "rangemode": "tozero"},
                          yaxis={"automargin": True, "type": "category"}),
    }
    rows = tuple(sources)
    return Chart("chart-execution", t["chart_execution"], figure,
                 (t["source"], t["budget"], t["executed"]), rows)


def form_scores_chart(form: ScoredReport, t: dict) -> Chart | None:
    """The indicators that lost points: weight against recomputed score, horizontal bars so long
    names read whole. None when every scored row earned its full weight: the table says it all."""
    scored = [r for r in form.indicators if r.kind in ("quantity", "qualitative", "coefficient")]
    rows = [r for r in scored if r.score is None or r.indicator.weight is None or r.score < r.indicator.weight]
    if not rows:
        return None
    y = [[label(r.indicator.level1) for r in rows][::-1], [label(r.indicator.name) for r in rows][::-1]]
    figure = {
        "data": [
            {"type": "bar", "orientation": "h", "name": t["weight"], "y": y,
             "x": [r.indicator.weight for r in rows][::-1]},
            {"type": "bar", "orientation": "h", "name": t["score"], "y": y, "x": [r.score for r in rows][::-1]},
        ],
        "layout": _layout(t["chart_scores"], barmode="group", height=max(300, 44 * len(rows) + 140),
                          margin={"l": 60, "r": 20, "t": 80, "b": 50},
                          legend={"orientation": "h", "y": 1.08, "x": 0},
                          xaxis={"title": {"text": t["points"]}, "rangemode": "tozero"},
                          yaxis={"automargin": True}),
    }
    table = tuple((r.indicator.level1, r.indicator.name, r.indicator.weight, r.score) for r in rows)
    return Chart("chart-scores", t["chart_scores"], figure,
                 (t["level1"], t["content"], t["weight"], t["score"]), table)


def department_charts(forms: list[ScoredReport], t: dict) -> list[Chart]:
    """Total score, execution rate and budget over the years; none for a single year (a trend of
    one point says nothing the history table does not). Lines fit their axes to the data; the
    budget, drawn as bars, starts at zero."""
    if len(forms) < 2:
        return []
    years = [str(f.report.year) for f in forms]
    totals = [f.total_shown for f in forms]
    total_y, total_bars = _ranged(totals, "y")
    rates = [f.execution.rate for f in forms]
    budgets = [f.execution.totals.budget for f in forms]
    unit = forms[0].report.money_unit if forms else ""
    line = {"type": "scatter", "mode": "lines+markers", "x": years}
    xaxis = {"type": "category", "title": {"text": t["year"]}}
    return [
        Chart("chart-total-trend", t["chart_total_trend"], {
            "data": [{**line, "name": t["total"], "y": total_y, **total_bars}],
            "layout": _layout(t["chart_total_trend"], xaxis=xaxis,
                              yaxis={"title": {"text": t["points"]}, "range": fitted_range(totals, Decimal(101))}),
        }, (t["year"], t["total"]), tuple(zip(years, totals, strict=True))),
        Chart("chart-rate-trend", t["chart_rate_trend"], {
            "data": [{**line, "name": t["rate"], "y": rates}],
            "layout": _layout(t["chart_rate_trend"], xaxis=xaxis,
                              yaxis={"title": {"text": "%"}, "range": fitted_range(rates)}),
        }, (t["year"], t["rate"] + " (%)"), tuple(zip(years, rates, strict=True))),
        Chart("chart-budget-trend", t["chart_budget_trend"], {
            "data": [{"type": "bar", "name": t["budget"], "x": years, "y": budgets}],
            "layout": _layout(t["chart_budget_trend"], xaxis=xaxis,
                              yaxis={"title": {"text": unit}, "rangemode": "tozero"}),
        }, (t["year"], f"{t['budget']} ({unit})"), tuple(zip(years, budgets, strict=True))),
    ]


def fictional_marked(departments: list, t: dict) -> list[str]:
    """Department names for a chart and its table: beside a real department, a fictional one is
    named as such (unless its name already says so); on an all-fictional page the banner says it."""
    mixed = any(not d.fictional for d in departments)
    return [d.name + t["fictional_short"] if mixed and d.fictional and t["fictional_tag"] not in d.name else d.name
            for d in departments]


_BY_SLUG, _BY_TOTAL, _TOTAL_HIGH = attrgetter("report.department.slug"), attrgetter("total"), attrgetter("total_high")


def rank_forms(forms: list[ScoredReport]) -> list[ScoredReport]:
    """Highest total first, equal totals by department: sorted by department, then by total with
    ``reverse`` (which keeps equal totals in the order they had), the keys read in C."""
    return sorted(sorted(forms, key=_BY_SLUG), key=_BY_TOTAL, reverse=True)


def year_charts(forms: list[ScoredReport], t: dict, grades: list[str],
                ranked: list[ScoredReport] | None = None) -> list[Chart]:
    """Ranking, execution rate against score, and the grade distribution for one year.

    ``ranked``: the forms already in ranking order, when the caller has sorted them.
    """
    if ranked is None:
        ranked = rank_forms(forms)
    if len(ranked) > NAMED_POINTS_MAX:
        return [rate_score_counts(ranked, t), grade_chart(forms, t, grades, "chart-grades")]
    names = fictional_marked([f.report.department for f in ranked], t)
    shown = [label(n) for n in names]
    totals = [f.total_shown for f in ranked]
    total_x, total_bars = _ranged(totals[::-1], "x")
    with_rate = [(f, shown_name) for f, shown_name in zip(ranked, shown, strict=True) if f.execution.rate is not None]
    rated_names = [name for f, name in zip(ranked, names, strict=True) if f.execution.rate is not None]
    # dots, not bars: a bar must start at zero, and 0–100 would flatten totals that differ by points
    ranking = Chart("chart-ranking", t["chart_ranking"], {
        "data": [{"type": "scatter", "mode": "markers", "name": t["total"], "marker": {"size": 10},
                  "x": total_x, "y": shown[::-1], **total_bars}],
        "layout": _layout(t["chart_ranking"], height=max(300, 28 * len(ranked) + 100),
                          margin={"l": 220, "r": 20, "t": 50, "b": 50}, showlegend=False,
                          xaxis={"title": {"text": t["points"]}, "range": fitted_range(totals, Decimal(101))},
                          yaxis={"automargin": True, "type": "category"}),  # a long name widens the margin
    }, (t["department"], t["total"]), tuple(zip(names, totals, strict=True)))
    scatter_y, scatter_bars = _ranged([f.total_shown for f, _ in with_rate], "y")
    scatter = Chart("chart-rate-vs-score", t["chart_rate_vs_score"], {
        "data": [{"type": "scatter", "mode": "markers", "name": t["department"],
                  "x": [f.execution.rate for f, _ in with_rate], "y": scatter_y, **scatter_bars,
                  "text": [shown_name for _, shown_name in with_rate],
                  "hovertemplate": "%{text}<br>%{x}% → %{y}<extra></extra>", "marker": {"size": 10}}],
        "layout": _layout(t["chart_rate_vs_score"], xaxis={"title": {"text": t["rate"] + " (%)"}},
                          yaxis={"title": {"text": t["total"]}}),
    }, (t["department"], t["rate"] + " (%)", t["total"]),
        tuple((name, f.execution.rate, f.total_shown) for (f, _), name in zip(with_rate, rated_names, strict=True)))
    return [ranking, scatter, grade_chart(forms, t, grades, "chart-grades")] if len(ranked) <= RANKING_CHART_MAX \
        else [scatter, grade_chart(forms, t, grades, "chart-grades")]


RANKING_CHART_MAX = 100  # one line per department: past this the ranking table says it better
NAMED_POINTS_MAX = 1000  # one named dot per form: past this, counts by band (the page stays small)
RATE_EDGES = (Decimal(60), Decimal(80), Decimal(90), Decimal(95), Decimal(100))
TOTAL_EDGES = (Decimal(60), Decimal(70), Decimal(80), Decimal(85), Decimal(90), Decimal(95))


def _band(value: Decimal, edges: tuple[Decimal, ...]) -> int:
    """The band ``value`` falls in: 0 below the first edge, i from edge i−1 (included) to edge i."""
    return bisect_right(edges, value)  # the number of edges at or below it


def _band_labels(edges: tuple[Decimal, ...]) -> list[str]:
    ends = [str(int(e)) for e in edges]
    return [f"<{ends[0]}", *(f"{a}–{b}" for a, b in zip(ends, ends[1:], strict=False)), f"≥{ends[-1]}"]


def rate_score_counts(forms: list[ScoredReport], t: dict) -> Chart:
    """Execution rate against total as counts of forms per band (a band includes its lower end):
    a year of thousands of forms in a few hundred bytes. A total known only as a range that
    spans two bands is counted in a row of its own, never placed in one of them."""
    rate_labels, total_labels = _band_labels(RATE_EDGES), _band_labels(TOTAL_EDGES)
    counts = [[0] * len(rate_labels) for _ in range(len(total_labels) + 1)]  # the last row: ranges across bands
    for form in forms:
        rate = form.execution.rate
        if rate is None:
            continue
        total = form.total_shown
        low, high = (total.low, total.high) if isinstance(total, Interval) else (total, total)
        row = _band(low, TOTAL_EDGES)
        if high is not low and _band(high, TOTAL_EDGES) != row:
            row = len(total_labels)
        counts[row][_band(rate, RATE_EDGES)] += 1
    banded = list(zip(total_labels, counts, strict=False))  # lowest first: drawn from the bottom up
    across = [(t["total_across_bands"], counts[-1])] if any(counts[-1]) else []
    drawn = across + banded
    figure = {
        "data": [{"type": "heatmap", "x": rate_labels, "y": [label for label, _ in drawn],
                  "z": [row for _, row in drawn], "colorscale": "Blues", "reversescale": True,
                  "showscale": False, "texttemplate": "%{z}",  # each cell says its count: no scale needed
                  "hovertemplate": f"{t['rate']} %{{x}}%<br>{t['total']} %{{y}}<br>{t['forms']} %{{z}}"
                                   "<extra></extra>"}],
        "layout": _layout(t["chart_rate_vs_score"], height=420,
                          xaxis={"title": {"text": t["rate"] + " (%)"}, "type": "category"},
                          yaxis={"title": {"text": t["total"]}, "type": "category"}),
    }
    headers = (f"{t['total']} \\ {t['rate']} (%)", *rate_labels)
    return Chart("chart-rate-vs-score", t["chart_rate_vs_score"], figure, headers,
                 tuple((label, *row) for label, row in [*banded[::-1], *across]))


def grade_chart(forms: list[ScoredReport], t: dict, grades: list[str], chart_id: str) -> Chart:
    counts = Counter(f.grade for f in forms)
    values = [counts.get(g, 0) for g in grades]
    open_range = sum(1 for f in forms if f.grade not in grades)
    if open_range:  # forms whose legible parts leave more than one grade possible
        grades, values = [*grades, t["grade_open"]], [*values, open_range]
    return Chart(chart_id, t["chart_grades"], {
        "data": [{"type": "bar", "name": t["forms"], "x": grades, "y": values}],
        "layout": _layout(t["chart_grades"], xaxis={"type": "category", "title": {"text": t["grade"]}},
                          yaxis=count_axis(t["forms"], max(values, default=0))),
    }, (t["grade"], t["forms"]), tuple(zip(grades, values, strict=True)))


COUNT_TICKS = 10  # above this Plotly's own steps (2, 5, 10, …) are whole numbers anyway


def count_axis(title: str, highest: int) -> dict:
    """An axis of counts: whole-number ticks, one per count only while counts are few (a tick
    per form on a year of 1,000 forms drew 1,000 overlapping labels and took Chromium 15 s)."""
    axis = {"title": {"text": title}, "rangemode": "tozero", "tickformat": "d"}
    return {**axis, "dtick": 1} if highest <= COUNT_TICKS else axis


def overview_chart(by_year: dict[int, list[ScoredReport]], t: dict, profile: Profile,
                   averages_by_year: dict | None = None) -> Chart | None:
    """The average total over the years, on one axis fitted to it (the number of forms is in the
    table: a second axis made their labels collide); None for fewer than two years.
    ``averages_by_year``: each year's :func:`average_total`, when already worked out."""
    years = sorted(by_year)
    if len(years) < 2:
        return None
    known = averages_by_year or {}
    averages = [known[y] if y in known else average_total(by_year[y], profile) for y in years]
    average_y, average_bars = _ranged(averages, "y")
    counts = [len(by_year[y]) for y in years]
    labels = [str(y) for y in years]
    return Chart("chart-years", t["chart_years"], {
        "data": [
            {"type": "scatter", "mode": "lines+markers", "name": t["average_total"], "x": labels, "y": average_y,
             **average_bars},
        ],
        "layout": _layout(t["chart_years"], xaxis={"type": "category", "title": {"text": t["year"]}},
                          showlegend=False,
                          yaxis={"title": {"text": t["average_total"]}, "range": fitted_range(averages, Decimal(101))}),
    }, (t["year"], t["forms"], t["average_total"]), tuple(zip(labels, counts, averages, strict=True)))


def average_total(forms: list[ScoredReport], profile: Profile) -> Decimal | Interval | None:
    """The mean total; a range when some totals are ranges."""
    totals, highs = totals_and_highs(forms)
    low, high = average(totals, profile), average(highs, profile)
    return low if low == high else Interval(low, high)


def totals_and_highs(forms: list[ScoredReport]) -> tuple[list[Decimal], list[Decimal]]:
    """Each form's total and the highest its range allows (the total itself when known)."""
    totals = list(map(_BY_TOTAL, forms))
    return totals, [t if h is None else h for t, h in zip(totals, map(_TOTAL_HIGH, forms), strict=True)]


def average(values: list[Decimal], profile: Profile) -> Decimal | None:
    """The exact mean, rounded once as the profile rounds scores."""
    if not values:
        return None
    return round_to(Fraction(sum(values, Decimal(0))) / len(values), profile.places, profile.rounding_mode)
