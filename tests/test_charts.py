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
    """The sample: 33 forms (26 department-wide, 7 project forms) × 2 charts, the 10 departments with
    department-wide forms × 3 (the 4 with project forms only have no trends), 3 years × 3, and one
    on the index."""
    counts: dict[str, int] = {}
    ids: dict[str, set[str]] = {}
    for page in pages:
        for chart in page.context.get("charts", []):
            counts[page.template] = counts.get(page.template, 0) + 1
            ids.setdefault(page.template, set()).add(chart.id)
    assert counts == {"form.html": 66, "department.html": 30, "year.html": 9, "index.html": 1}
    assert ids == {"index.html": {"chart-years"}, "year.html": {"chart-ranking", "chart-grades", "chart-rate-vs-score"},
                   "department.html": {"chart-total-trend", "chart-budget-trend", "chart-rate-trend"},
                   "form.html": {"chart-execution", "chart-scores"}}


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


def test_form_page_has_execution_and_scores_charts(pages):
    forms = [p for p in pages if p.template == "form.html"]
    assert len(forms) == 33  # 26 department-wide, 7 project forms
    for page in forms:
        assert [c.id for c in page.context["charts"]] == ["chart-execution", "chart-scores"], page.dest_path


def test_seed_form_charts_carry_its_numbers(pages):
    page = next(p for p in pages if p.dest_path == "departments/wangcheng-kexie/2021/index.html")
    charts = {c.id: c for c in page.context["charts"]}
    execution = charts["chart-execution"]
    assert execution.rows == (("财政拨款", Decimal("302"), Decimal("363.88")),)
    assert execution.figure["data"][0]["y"] == [Decimal("302")]
    assert execution.figure["data"][1]["y"] == [Decimal("363.88")]
    scores = charts["chart-scores"]
    level1, content = scores.figure["data"][0]["x"]
    assert len(level1) == len(content) == len(scores.rows)
    assert "科普服务人数" in content


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
