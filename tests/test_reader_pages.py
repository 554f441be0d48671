"""Pages that answer readers' questions (#13 points 3–5): the overview's answers, each
department's change since last year, a year's quality page, and each indicator against last year.

The tiny site by hand: alpha 2021 totals 87.00 (9.00 + 40.00 + 28 + 10), alpha 2022 85.67
(200/200 → 10.00; 成本控制 50万元 for 60万元, lower is better: 50/60 × 50 = 41.67; 社会效益 partial,
band 18–24, printed 29 → 24; 满意度 10), beta 2021 100.00 (and no 2022 form).
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from test_public_findings import visible_text

from generator.build.run import build
from generator.score.check import check_project
from generator.site.sitemodel import indicator_changes, overview_answers, quality_year_context

D = Decimal


@pytest.fixture
def tiny_site(tiny_project):
    return check_project(tiny_project)


def forms_by_year(site):
    out = {}
    for form in site.forms:
        out.setdefault(form.report.year, []).append(form)
    return out


def test_the_overview_answers_for_the_latest_year(tiny_site):
    answers = overview_answers(forms_by_year(tiny_site), tiny_site.content.departments)
    assert answers["year"] == 2022 and answers["previous_year"] == 2021
    assert [f.total for f in answers["lowest"]] == [D("85.67")]
    (drop, last, now), = answers["falls"]
    assert (drop, last.total, now.total) == (D("1.33"), D("87.00"), D("85.67"))  # 87.00 − 85.67
    assert [f.report.department.slug for *_, f in answers["most_findings"]] == ["alpha"]
    assert [d.slug for d in answers["without_form"]] == ["beta"]


def test_a_fall_is_listed_only_when_the_ranges_make_it_certain(tiny_site):
    """A total known only as a range counts at its best: 85.67–95.67 against 87.00 is no certain fall."""
    by_year = forms_by_year(tiny_site)
    alpha_2022 = next(f for f in by_year[2022] if f.report.department.slug == "alpha")
    by_year[2022] = [type(alpha_2022)(**{**alpha_2022.__dict__, "total_high": D("95.67")})]
    answers = overview_answers(by_year, tiny_site.content.departments)
    assert answers["falls"] == []
    assert [f.total_shown.high for f in answers["lowest"]] == [D("95.67")]


def test_each_indicator_is_set_beside_last_years(tiny_site):
    alpha = [f for f in tiny_site.forms if f.report.department.slug == "alpha"]
    changes = indicator_changes(alpha[1], alpha[0])
    assert changes["year"] == 2021
    assert [(c.now.indicator.content, c.before.score, c.now.score, c.score_change) for c in changes["matched"]] == [
        ("社会效益", D("28.00"), D("24.00"), D("-4.00")),   # the band of a partial achievement: 18–24
        ("满意度", D("10.00"), D("10.00"), D("0.00"))]
    assert changes["matched"][0].target_changed  # 良好以上 → 良好
    assert [r.indicator.content for r in changes["new"]] == ["成本控制"]
    assert [r.indicator.content for r in changes["dropped"]] == ["服务人数"]
    assert indicator_changes(alpha[0], None) is None


def test_a_years_quality_page_has_a_row_per_form_with_findings(tiny_site):
    context = quality_year_context(2022, forms_by_year(tiny_site)[2022])
    (row,) = context["rows"]
    assert row.url == "departments/alpha/2022/index.html"
    assert (row.errors, row.warnings) == (sum(f.severity == "error" for f in row.form.findings),
                                          sum(f.severity == "warning" for f in row.form.findings))
    assert "missing-reason" in row.codes


def test_averages_pair_the_recomputed_with_the_printed_totals(tiny_site):
    """2021: recomputed (87.00 + 100.00) / 2 = 93.50; only alpha prints a total (87.00), so the
    printed average is over that one form and says so; 2022: 85.67 against the printed 99."""
    from generator.site.sitemodel import year_summary

    profile, grades = tiny_site.config.profile, [g for g, _ in tiny_site.config.profile.grades]
    by_year = forms_by_year(tiny_site)
    y2021 = year_summary(2021, by_year[2021], profile, grades)
    assert (y2021["average"], y2021["reported_average"], y2021["reported_count"], y2021["count"]) == (
        D("93.50"), D("87.00"), 1, 2)
    y2022 = year_summary(2022, by_year[2022], profile, grades)
    assert (y2022["average"], y2022["reported_average"]) == (D("85.67"), D("99.00"))


def test_the_pages_show_it(tiny_project):
    out = build(tiny_project).out_dir
    home = visible_text((out / "index.html").read_text(encoding="utf-8"))
    assert "2022 年度概况" in home and "复核总分最低" in home
    assert re.search(r"87\.00 → 85\.67\s*（至少下降 1\.33）", home)
    assert re.search(r"复核总分\s+85\.67\s+良\s+·\s+自评总分\s+99", home)  # each grade beside its own total
    assert re.search(r"2021\s+2\s+93\.50\s+87\.00\s*（2 份中 1 份填了自评总分）", home)
    assert "复核等级 优" in home and "复核平均分" in home and "自评平均分" in home
    assert "本年度没有部门整体自评表" in home and "乙单位" in home[home.index("本年度没有部门整体自评表"):]
    departments = visible_text((out / "departments/index.html").read_text(encoding="utf-8"))
    assert re.search(r"85\.67\s+良\s+87\.00\s+-1\.33", departments)
    form = visible_text((out / "departments/alpha/2022/index.html").read_text(encoding="utf-8"))
    assert "与 2021 年对比" in form and "本年新增的指标 ：成本控制".replace(" ", "") in form.replace(" ", "")
    quality = (out / "quality/2022/index.html").read_text(encoding="utf-8")
    assert 'id="quality-table"' in quality and "data-filter-for=\"quality-table\"" in quality
    assert 'href="../../departments/alpha/2022/index.html#findings"' in quality
    assert "未说明未完成原因" in visible_text(quality)
    overview = visible_text((out / "quality/index.html").read_text(encoding="utf-8"))
    assert "各年度数据质量" in overview


def test_each_year_counts_its_findings_once_for_every_page(checked_sample):
    """The overview's errors per year are the department-wide forms' (project forms have their
    own list); the quality overview's are every form's. The tally both come from is made once
    per year: with project forms in a year, the two must still differ as the forms do."""
    from generator.site.sitemodel import build_site_model
    from generator.site.theme import load_theme

    pages = {p.dest_path: p for p in build_site_model(checked_sample, load_theme(checked_sample.config).strings)}
    overview, quality = pages["index.html"].context, pages["quality/index.html"].context
    errors = {}  # year -> (department-wide, every form), counted here one finding at a time
    for form in checked_sample.forms:
        whole, every = errors.get(form.report.year, (0, 0))
        n = sum(f.severity == "error" for f in form.findings)
        errors[form.report.year] = (whole + (0 if form.report.is_project else n), every + n)
    assert any(whole != every for whole, every in errors.values())  # a year whose project forms have errors
    assert {s["year"]: s["findings"] for s in overview["years"]} == {y: e[0] for y, e in errors.items()}
    assert {s["year"]: s["error"] for s in quality["years"]} == {y: e[1] for y, e in errors.items()}
    assert overview["findings"] == quality["counts"] == checked_sample.findings_by_severity()


def test_findings_are_counted_by_kind_slim_or_whole():
    """Slim findings (one object per kind) are counted by identity; any other finding one by
    one, as often as it occurs, even when two forms share the very same object."""
    from types import SimpleNamespace as Form

    from generator.score.audit import Finding, slim_finding
    from generator.score.check import finding_tally

    whole = Finding("reported-rate", "error", "funds.reported.rate", "a.yaml", 3, 5, None, None, "m")
    twin = Finding("reported-rate", "error", "funds.reported.rate", "b.yaml", 4, 5, None, None, "m")
    slim, other = slim_finding("reported-rate", "error"), slim_finding("missing-reason", "warning")
    forms = [Form(findings=(slim, whole, slim)), Form(findings=(whole, twin, other)), Form(findings=())]
    assert finding_tally(forms) == {("error", "reported-rate"): 5, ("warning", "missing-reason"): 1}
    assert finding_tally([]) == {}


def test_the_overview_answers_rank_by_hand():
    """Seven forms of 2023 and five of 2022, worked out by hand. Lowest, by the best total a
    range allows, then the total, then the department: c and d (65, 65), f (68: 50–68), a (70),
    b (75: 60–75). Certain falls (last year's total minus this year's best): a 80 − 70 = 10,
    b 80 − 75 = 5 and e 95 − 90 = 5 (by department), c 66 − 65 = 1; g rose. Most findings, by
    errors then warnings: c (2, 1), a and f (2, 0), b (1, 3), d (0, 5); e has only info."""
    from types import SimpleNamespace as Obj

    def finding(severity):
        return Obj(severity=severity)

    def form(slug, total, high=None, findings=()):
        return Obj(report=Obj(department=Obj(slug=slug)), total=D(total), total_high=None if high is None else D(high),
                   findings=tuple(map(finding, findings)))

    now = [form("a", "70", findings=["error", "error"]), form("b", "60", "75", ["error"] + ["warning"] * 3),
           form("c", "65", findings=["error", "warning", "error"]), form("d", "65", findings=["warning"] * 5),
           form("e", "90", findings=["info"]), form("f", "50", "68", ["error", "error"]), form("g", "80")]
    before = [form("a", "80"), form("b", "80"), form("e", "95"), form("g", "70"), form("c", "66")]
    departments = [Obj(slug=s) for s in "abcdefgh"]
    answers = overview_answers({2022: before, 2023: now}, departments)

    def slugs(forms):
        return [f.report.department.slug for f in forms]

    assert (answers["year"], answers["previous_year"]) == (2023, 2022)
    assert slugs(answers["lowest"]) == ["c", "d", "f", "a", "b"]
    assert [(drop, slugs([f])[0]) for drop, _last, f in answers["falls"]] == [
        (D(10), "a"), (D(5), "b"), (D(5), "e"), (D(1), "c")]
    assert [(e, w, slugs([f])[0]) for e, w, f in answers["most_findings"]] == [
        (2, 1, "c"), (2, 0, "a"), (2, 0, "f"), (1, 3, "b"), (0, 5, "d")]
    assert [d.slug for d in answers["without_form"]] == ["h"]


def test_the_feed_gets_the_forms_by_year_the_model_grouped(checked_sample):
    """A build's model keeps its grouping of the forms by year for the feed of the same site
    (one pass over every form, not two); another site object is grouped afresh."""
    from dataclasses import replace

    from generator.site.pipeline import forms_by_year as grouped_again
    from generator.site.sitemodel import FORMS_BY_YEAR, Memo, build_site_model
    from generator.site.theme import load_theme

    memo = Memo()
    build_site_model(checked_sample, load_theme(checked_sample.config).strings, memo=memo)

    def not_again():
        raise AssertionError("grouped again")

    kept = memo.get(FORMS_BY_YEAR, (checked_sample,), not_again)
    assert {y: set(map(id, f)) for y, f in kept.items()} == {
        y: set(map(id, f)) for y, f in grouped_again(checked_sample).items()}
    other = replace(checked_sample)
    assert memo.get(FORMS_BY_YEAR, (other,), lambda: "afresh") == "afresh"
