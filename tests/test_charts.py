"""Chart specifications: plotly accepts every one, ids are unique, each has a title and a table.

Charts are plain dictionaries (see generator/site/charts.py); these tests are where plotly
itself validates them, so a typo in a trace or layout key fails here, not in a browser.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import plotly.graph_objects as go
import pytest

from generator.site.charts import PLOT_CONFIG, Chart
from generator.site.export import dumps
from generator.site.render import chart_payload, script_json
from generator.site.sitemodel import build_site_model
from generator.site.theme import load_theme


@pytest.fixture(scope="module")
def pages(checked_sample):
    strings = load_theme(checked_sample.config).strings
    return build_site_model(checked_sample, strings)


@pytest.fixture(scope="module")
def all_charts(pages) -> list[tuple[str, Chart]]:
    return [(page.dest_path, chart) for page in pages for chart in page.context.get("charts", [])]


def test_there_are_charts_on_every_kind_of_page(pages):
    """Charts where they add to the tables: a department's trends only with two years or more, a
    form's indicator chart only when some indicator lost points, the overview with two years."""
    ids: dict[str, set[str]] = {}
    for page in pages:
        charts = page.context.get("charts", [])
        for chart in charts:
            ids.setdefault(page.template, set()).add(chart.id)
        if page.template == "department.html":
            history = page.context["history"]
            assert len(charts) == (3 if len(history) >= 2 else 0), page.dest_path
        if page.template == "form.html":
            form = page.context["form"]
            lost = any(r.score is None or r.score < r.indicator.weight for r in form.indicators
                       if r.kind in ("quantity", "qualitative", "coefficient"))
            assert ("chart-scores" in [c.id for c in charts]) == lost, page.dest_path
        if page.template == "year.html":
            assert len(charts) == (3 if page.context["ranked"] else 0), page.dest_path
    assert ids == {"index.html": {"chart-years"}, "year.html": {"chart-ranking", "chart-grades", "chart-rate-vs-score"},
                   "department.html": {"chart-total-trend", "chart-budget-trend", "chart-rate-trend"},
                   "form.html": {"chart-execution", "chart-scores"}}


def test_axes_fit_the_data(pages):
    """Totals of 96–100 are not drawn against 0–100; bars (budgets, weights) still start at zero."""
    ranking = next(c for p in pages if p.template == "year.html" for c in p.context["charts"]
                   if c.id == "chart-ranking")
    low, high = ranking.figure["layout"]["xaxis"]["range"]
    totals = [v for row in ranking.rows for v in ([row[1].low, row[1].high] if hasattr(row[1], "low") else [row[1]])]
    assert low <= min(totals) and high >= max(totals) and low > 50 and high <= 101
    assert ranking.figure["data"][0]["type"] == "scatter"  # dots: a bar would have to start at zero
    trend = next(c for p in pages if p.template == "department.html" for c in p.context["charts"]
                 if c.id == "chart-total-trend")
    assert trend.figure["layout"]["yaxis"]["range"][0] > 0
    overview = next(c for p in pages if p.template == "index.html" for c in p.context["charts"])
    assert "yaxis2" not in overview.figure["layout"]  # one axis: no colliding labels


def test_single_year_and_full_marks_draw_no_chart():
    from generator.site.charts import department_charts, fitted_range, form_scores_chart

    assert department_charts([object()], {}) == []
    assert fitted_range([Decimal("96.5"), Decimal("99.2")], Decimal(101)) == [Decimal(95), Decimal(101)]
    assert fitted_range([]) is None

    class Row:
        kind, score = "quantity", Decimal(10)
        indicator = type("I", (), {"weight": Decimal(10)})()

    assert form_scores_chart(type("F", (), {"indicators": [Row()]})(), {}) is None


def test_plotly_accepts_every_chart(all_charts):
    for dest, chart in all_charts:
        spec = json.loads(dumps(chart.figure))
        try:
            go.Figure(spec)
        except Exception as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"{dest} {chart.id}: plotly rejects the spec: {exc}")


def test_payload_is_json_with_figure_and_config(all_charts):
    for dest, chart in all_charts[:10]:
        payload = json.loads(str(chart_payload(chart)))
        assert payload["config"] == PLOT_CONFIG, dest
        go.Figure(payload["figure"])


def test_chart_ids_are_unique_within_a_page(pages):
    for page in pages:
        ids = [c.id for c in page.context.get("charts", [])]
        assert len(ids) == len(set(ids)), (page.dest_path, ids)
        for chart_id in ids:
            assert re.fullmatch(r"[a-z][a-z0-9-]*", chart_id), chart_id


def test_every_chart_has_a_title_and_a_matching_table(all_charts):
    for dest, chart in all_charts:
        assert chart.title.strip(), (dest, chart.id)
        assert chart.figure["layout"]["title"]["text"] == chart.title, (dest, chart.id)
        assert chart.headers and all(str(h).strip() for h in chart.headers), (dest, chart.id)
        assert chart.rows, (dest, chart.id)
        for row in chart.rows:
            assert len(row) == len(chart.headers), (dest, chart.id, row)


def test_numbers_in_specs_are_exact(all_charts):
    """Decimals reach the JSON as their exact text, never via float rounding."""
    for _, chart in all_charts:
        text = dumps(chart.figure)
        assert "Decimal(" not in text
        assert not re.search(r"\d\.\d*0000000\d", text)


def test_form_page_has_an_execution_chart_when_amounts_are_known(pages):
    forms = [p for p in pages if p.template == "form.html"]
    assert len(forms) == 33  # 26 department-wide, 7 project forms
    for page in forms:
        ids = [c.id for c in page.context["charts"]]
        totals = page.context["form"].execution.totals
        known = page.context["report"].sources or totals.budget is not None or totals.executed is not None
        assert (ids[:1] == ["chart-execution"]) == bool(known), page.dest_path


def test_seed_form_charts_carry_its_numbers(pages):
    page = next(p for p in pages if p.dest_path == "departments/wangcheng-kexie/2021/index.html")
    charts = {c.id: c for c in page.context["charts"]}
    execution = charts["chart-execution"]
    assert execution.rows == (("财政拨款", Decimal("302"), Decimal("363.88")),)
    assert execution.figure["data"][0]["x"] == [Decimal("302")] and execution.figure["data"][0]["y"] == ["财政拨款"]
    assert execution.figure["data"][1]["x"] == [Decimal("363.88")]
    assert "chart-scores" not in charts  # every legible scored row earned its weight: the table says it
    lost = next(c for p in pages if p.template == "form.html" for c in p.context["charts"] if c.id == "chart-scores")
    level1, names = lost.figure["data"][0]["y"]
    assert len(level1) == len(names) == len(lost.rows) and lost.figure["data"][0]["orientation"] == "h"


def test_script_json_cannot_end_the_script_element():
    figure = {"data": [{"type": "bar", "name": "</script><script>alert(1)</script>", "x": ["<!--", "-->"],
                       "y": [1, 2], "text": ["a & b", "\u2028line\u2029"]}],
              "layout": {"title": {"text": "</SCRIPT> <!-- x"}}}
    text = str(script_json(figure))
    for raw in ("</script", "</SCRIPT", "<!--", "-->", "<", ">", "&", "\u2028", "\u2029"):
        assert raw not in text, raw
    back = json.loads(text)
    assert back == figure
    go.Figure(back)


def test_script_json_keeps_decimals_exact():
    text = str(script_json({"y": [Decimal("7.95"), Decimal("100.00"), Decimal("0.1")]}))
    assert text == '{"y": [7.95, 100.00, 0.1]}'


def test_the_ranking_puts_equal_totals_in_department_order():
    """Highest total first; equal totals (80 and 80.00 are equal) by department, A to Z."""
    from types import SimpleNamespace as Obj

    from generator.site.charts import rank_forms

    def form(slug, total):
        return Obj(total=Decimal(total), report=Obj(department=Obj(slug=slug)))

    forms = [form("c", "80.00"), form("b", "90"), form("a", "80"), form("d", "95"), form("e", "80.0")]
    assert [f.report.department.slug for f in rank_forms(forms)] == ["d", "b", "a", "c", "e"]
