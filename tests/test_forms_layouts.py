"""Every real form as printed (#11): project forms, layouts as data, per-record profiles, partial
and illegible transcriptions, weightless scores. Each case is a small record read by exactly the
rules ``perfsite check`` uses; expected numbers are worked out by hand in the comments.
"""

from __future__ import annotations

import json
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import FIXTURES, copy_project

from generator.cli import main
from generator.errors import ContentError
from generator.read.layouts import DEFAULT_LAYOUTS, available_layouts, load_layout, shipped_rules
from generator.read.profiles import available_profiles
from generator.read.records import build_report, cross_check, level_problems
from generator.read.validate import validate
from generator.read.yamlsource import parse_source
from generator.score.check import check_project
from generator.site.sitemodel import data_base, fund_columns, indicator_columns, report_url

D = Decimal
DEPARTMENT = "name: 测试部门\n"


def project(tmp_path: Path, files: dict[str, str], site: str = "title: 测试站点\n") -> Path:
    """A project with one department ``alpha`` holding the given record files."""
    root = tmp_path / "p"
    (root / "content/departments/alpha").mkdir(parents=True)
    (root / "content/site.yaml").write_text(site, encoding="utf-8")
    (root / "content/departments/alpha/department.yaml").write_text(DEPARTMENT, encoding="utf-8")
    for name, text in files.items():
        (root / "content/departments/alpha" / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def problems_of(tmp_path: Path, files: dict[str, str], site: str = "title: 测试站点\n") -> list[str]:
    with pytest.raises(ContentError) as caught:
        check_project(project(tmp_path, files, site))
    return [str(p) for p in caught.value.problems]


def with_key(record: str, line: str) -> str:
    """The record with one more top-level line after ``form: project``."""
    return record.replace("    form: project\n", f"    form: project\n    {line}\n")


def form_of(tmp_path: Path, name: str, text: str, site: str = "title: 测试站点\n"):
    site_ = check_project(project(tmp_path, {name: text}, site))
    (form,) = site_.forms
    return form


def codes(form) -> list[tuple[str, str]]:
    return [(f.code, f.severity) for f in form.findings]


PROJECT = """\
    year: 2023
    form: project
    project: 测试项目
    project_code: "0012"
    authority: 测试主管部门
    implementer: 测试实施单位
    funds:
      weight: 10
      sources:
        - {name: 当年财政拨款, initial_budget: 100, budget: 100, executed: 90}
      reported: {initial_budget: 100, budget: 100, executed: 90, rate: 90, score: 9}
    indicators:
      - {level1: 产出指标, level2: 数量指标, level3: 培训人数, target: 100人, actual: 100人, weight: 50, score: 50}
      - {level1: 效益指标, level2: 社会效益指标, level3: 群众知晓率, target: ≥90%, actual: 95%, weight: 30, score: 30}
      - {level1: 满意度指标, level2: 服务对象满意度指标, level3: 满意度, target: ≥90%, actual: 92%, weight: 10,
         score: 10}
    reported: {total: 99}
"""


# ---------------------------------------------------------------- project forms


def test_a_department_holds_many_project_forms_a_year(tmp_path):
    dept = (FIXTURES / "tiny/content/departments/beta/2021.yaml").read_text(encoding="utf-8").replace("2021", "2023")
    other = PROJECT.replace("测试项目", "第二个项目")
    site = check_project(project(tmp_path, {"2023.yaml": dept, "2023-peixun.yaml": PROJECT,
                                            "2023-zhishi.yaml": other}))
    keys = [f.report.key for f in site.forms]
    assert keys == [("alpha", 2023, ""), ("alpha", 2023, "peixun"), ("alpha", 2023, "zhishi")]
    first = site.forms[1].report
    assert (first.form, first.project, first.project_code, first.authority, first.implementer) == (
        "project", "测试项目", "0012", "测试主管部门", "测试实施单位")
    assert first.layout.name == "national-project"  # the default for project forms
    assert report_url(first) == "departments/alpha/2023/peixun/index.html"
    assert data_base(first) == "data/alpha/2023-peixun"
    assert report_url(site.forms[0].report) == "departments/alpha/2023/index.html"
    # 90/100 = 90.00 % → 9.00; 50 + 30 + 10 + 9 = 99.00 as printed: a clean form
    assert site.forms[1].total == D("99.00") and codes(site.forms[1]) == []


def test_a_project_file_must_hold_a_project_form(tmp_path):
    found = problems_of(tmp_path, {"2023-peixun.yaml": PROJECT.replace("form: project", "form: department")})
    assert found == ["content/departments/alpha/2023-peixun.yaml:2:7: form: expected project (the file name "
                     "2023-peixun.yaml holds a project form), got \"department\" (a department-wide form is named "
                     "2023.yaml)"]


def test_a_project_id_must_be_a_safe_name(tmp_path):
    found = problems_of(tmp_path, {"2023-PeiXun.yaml": PROJECT})
    assert len(found) == 1 and "unexpected file name" in found[0] and "<year>-<project>.yaml" in found[0]


def test_project_form_check_json(tmp_path, capsys):
    root = project(tmp_path, {"2023-peixun.yaml": PROJECT, "2023-zhishi.yaml": PROJECT})
    assert main(["check", "--format", "json", "-p", str(root)]) == 0
    data = json.loads(capsys.readouterr().out)
    forms = [f for f in data["forms"] if f["form"] == "project"]
    assert len(forms) == 2 and {f["year"] for f in forms} == {2023}
    assert forms[0]["project"] == {"id": "peixun", "name": "测试项目", "code": "0012", "authority": "测试主管部门",
                                   "implementer": "测试实施单位"}
    assert forms[0]["layout"]["name"] == "national-project"


# ---------------------------------------------------------------- layouts


def test_every_shipped_layout_loads_and_cites_its_source():
    names = available_layouts()
    assert len(names) >= 6
    assert {"national-department", "national-project", "sichuan-project", "chongqing-department",
            "hunan-department-evaluation", "ningxia-yinchuan-department"} <= set(names)
    for name in names:
        layout, problems = load_layout(name)
        assert problems == [] and layout.title and layout.regulation, name
        assert layout.form in ("department", "project")
        assert [c.field for c in layout.indicator_columns][:2] == ["level1", "level2"], name
    assert set(DEFAULT_LAYOUTS.values()) <= set(names)


def _row_record(layout: str, level1: str, level2: str, form: str = "department") -> str:
    return (f"year: 2023\nform: {form}\nlayout: {layout}\nfunds:\n  sources:\n"
            f"    - {{name: 财政拨款, budget: 10, executed: 10}}\n"
            f"indicators:\n  - {{level1: {level1}, level2: {level2}, content: 测试, level3: 测试, target: 1次, "
            f"actual: 1次, weight: 90, score: 90}}\n")


@pytest.mark.parametrize("name", available_layouts())
def test_layouts_validate_their_records(tmp_path, name):
    """A row with the layout's first level names loads; the first level of another layout does not."""
    layout, _ = load_layout(name)
    level1 = next(iter(layout.levels))
    level2 = layout.levels[level1][0] if layout.levels[level1] else "任意二级指标"
    file = "2023.yaml" if layout.form == "department" else "2023-x.yaml"
    form = form_of(tmp_path / "ok", file, _row_record(name, level1, level2, layout.form))
    assert form.report.layout.name == name
    foreign = next(n for n in ("投入", "产出指标") if n not in layout.levels)
    found = problems_of(tmp_path / "bad", {file: _row_record(name, foreign, "数量指标", layout.form)})
    assert len(found) == 1
    assert found[0].startswith(f"content/departments/alpha/{file}:8:")
    assert f"indicators[0].level1: expected a level-1 indicator of layout {name} ({', '.join(layout.levels)})" \
        in found[0]


def test_unknown_level_name_is_located_and_lists_the_layout_names(tmp_path):
    found = problems_of(tmp_path, {"2023.yaml": _row_record("hunan-department-evaluation", "产出指标", "x")})
    assert found == ['content/departments/alpha/2023.yaml:8:14: indicators[0].level1: expected a level-1 '
                     'indicator of layout hunan-department-evaluation (投入, 过程, 产出, 效果), got "产出指标" '
                     "(did you mean '产出'?)"]


def test_unknown_layout_and_wrong_kind_are_located(tmp_path):
    found = problems_of(tmp_path / "a", {"2023.yaml": _row_record("national-projekt", "产出指标", "数量指标")})
    assert found[0].startswith("content/departments/alpha/2023.yaml:3:9: layout: expected one of the shipped layouts")
    assert "did you mean 'national-project'?" in found[0]
    found = problems_of(tmp_path / "b", {"2023.yaml": _row_record("national-project", "产出指标", "数量指标")})
    assert found == ['content/departments/alpha/2023.yaml:3:9: layout: expected a layout for a department form, '
                     'got "national-project" (a project layout) (choose one of chongqing-department, '
                     'hunan-department-evaluation, national-department, ningxia-yinchuan-department)']


def test_site_yaml_chooses_the_default_layouts(tmp_path):
    site = "title: 站点\nlayouts: {project: sichuan-project}\n"
    form = form_of(tmp_path, "2023-x.yaml", PROJECT, site)
    assert form.report.layout.name == "sichuan-project"
    found = problems_of(tmp_path / "bad", {"2023-x.yaml": PROJECT}, "title: 站点\nlayouts: {project: nope}\n")
    assert found[0].startswith("content/site.yaml:2:20: layouts.project: unknown layout 'nope'")


def test_the_page_columns_come_from_the_layout_and_hide_nothing(tmp_path):
    record = with_key(PROJECT, "layout: sichuan-project").replace(
        "level3: 培训人数, target: 100人", "level3: 培训人数, nature: \"=\", target: 100, unit: 人")
    record = record.replace("score: 50}", "score: 50, note: 原表备注}")
    report = form_of(tmp_path, "2023-x.yaml", record).report
    headers = dict(indicator_columns(report))
    assert headers["nature"] == "指标性质" and headers["unit"] == "度量单位" and headers["weight"] == "权重"
    assert headers["note"] == ""  # not printed by the layout, filled by the record: shown with the theme's word
    assert [f for f, _ in fund_columns(report)] == ["initial_budget", "budget", "executed", "rate", "weight", "score"]
    assert dict(fund_columns(report))["budget"] == "调整后预算数"
    row = report.indicators[0]
    # nature and unit read with the bare number: the target is = 100 人, shown as printed ("100")
    assert (row.target.comparator, row.target.number, row.target.unit, row.target.text) == ("=", D(100), "人", "100")


def test_the_layout_schema_for_editors_follows_the_layout():
    rules = shipped_rules()
    assert set(rules.layouts) == set(available_layouts()) and set(rules.profile_names) == set(available_profiles())


# ---------------------------------------------------------------- illegible and untranscribed


ILLEGIBLE_FUNDS = """\
    year: 2023
    funds:
      sources:
        - {name: 财政拨款, budget: 100, illegible: [executed]}
      reported: {budget: 100, illegible: [executed, rate, score]}
    indicators:
      - {level1: 产出指标, level2: 数量指标, content: 次数, target: 1次, actual: 1次, weight: 90, score: 90}
"""


def test_illegible_fund_amounts_load_and_leave_the_execution_score_open(tmp_path):
    form = form_of(tmp_path, "2023.yaml", ILLEGIBLE_FUNDS)
    assert form.report.sources[0].illegible == ("executed",)
    assert form.report.reported_funds.illegible == ("executed", "rate", "score")
    # B unknown and no printed rate: the execution score is 0–10, the total 90.00–100.00, grade 优
    assert form.execution.totals.executed is None
    assert (form.total, form.total_high, form.grade) == (D("90.00"), D("100.00"), "优")
    assert ("illegible", "info") in codes(form)
    assert not [c for c in codes(form) if c[1] == "error"]


def test_a_value_marked_illegible_is_refused(tmp_path):
    record = ILLEGIBLE_FUNDS.replace("reported: {budget: 100, illegible",
                                     "reported: {budget: 100, executed: 5, illegible")
    found = problems_of(tmp_path, {"2023.yaml": record})
    assert found == ["content/departments/alpha/2023.yaml:5:37: funds.reported.executed: marked illegible but has a "
                     "value (remove the value or take it off the illegible list)"]


def test_untranscribed_rows_leave_the_total_a_range_and_no_grade_is_forced(tmp_path):
    # the stored copy lacks some indicator rows: 10 (execution) + 40 known; 50 points are unknown
    record = """\
        year: 2023
        funds:
          sources:
            - {name: 财政拨款, budget: 100, executed: 100}
        indicators:
          - {level1: 产出指标, level2: 数量指标, content: 次数, target: 1次, actual: 1次, weight: 40, score: 40}
        untranscribed:
          - {part: indicators, note: 存档副本缺第 2 页}
        reported: {total: 95}
    """
    form = form_of(tmp_path, "2023.yaml", record)
    # known: 10.00 + 40.00 = 50.00; the missing rows hold 0–50 → 50.00–100.00, graded 差–优
    assert (form.total, form.total_high) == (D("50.00"), D("100.00"))
    assert form.grade == "差–优"
    assert codes(form) == [("untranscribed", "info"), ("total-unconfirmed", "info")]
    assert "存档副本缺第 2 页" in form.findings[0].message and "不按 0 计" in form.findings[0].message


def test_untranscribed_scores_are_not_blank_scores(tmp_path):
    record = PROJECT.replace("score: 50}", "}").replace("score: 30}", "}").replace("\n         score: 10}", "}")
    record = record.replace("reported: {total: 99}", "untranscribed: [{part: scores}]")
    form = form_of(tmp_path, "2023-x.yaml", record)
    assert codes(form) == [("untranscribed", "info")]  # no scores-blank, no missing-score


# ---------------------------------------------------------------- weights, coefficients, profiles


def test_a_weightless_scored_row_enters_the_total_with_a_warning(tmp_path):
    record = PROJECT.replace("level3: 满意度, target: ≥90%, actual: 92%, weight: 10,\n         score: 10}",
                             "level3: 满意度, target: ≥90%, actual: 92%, score: 8}")
    form = form_of(tmp_path, "2023-x.yaml", record)
    row = form.indicators[2]
    assert (row.kind, row.score) == ("weightless", D("8.00"))
    # 9.00 + 50.00 + 30.00 + 8 (as printed) = 97.00; the printed 99 differs by the 2 points
    assert form.total == D("97.00")
    assert codes(form) == [("score-without-weight", "warning"), ("total-mismatch", "error")]
    warning = form.findings[0]
    assert warning.path == "indicators[2].weight" and "1 项指标印有得分、没有分值（合计 8 分）" in warning.message
    assert "weights-sum" not in [c for c, _ in codes(form)]  # the weightless row may hold the missing 10


def test_coefficient_times_weight(tmp_path):
    # 重庆: 得分 = 得分系数 × 指标权重: 80 % × 30 = 24.00, printed 24; 95 % × 50 = 47.50, printed 48 → error
    record = PROJECT.replace("weight: 50, score: 50}", "weight: 50, coefficient: 95, score: 48}").replace(
        "weight: 30, score: 30}", "weight: 30, coefficient: 80, score: 24, core: true}")
    record = record.replace("reported: {total: 99}", "reported: {total: 91}")
    form = form_of(tmp_path, "2023-x.yaml", record)
    assert [r.kind for r in form.indicators] == ["coefficient", "coefficient", "quantity"]
    assert [r.score for r in form.indicators] == [D("47.50"), D("24.00"), D("10.00")]
    assert form.report.indicators[1].core is True
    # 9.00 + 47.50 + 24.00 + 10.00 = 90.50; the printed 91 follows the printed 48
    assert codes(form) == [("indicator-score-mismatch", "error"), ("total-follows-scores", "info")]


def test_a_record_names_its_profile(tmp_path):
    # R1's rule: the rate printed to whole percent and scored on the printed rate:
    # 154.74 / 310.2 = 49.88 % → 50 % → 10 × 0.50 = 5.00 under beijing-2016, 4.99 under national
    record = PROJECT.replace("initial_budget: 100, budget: 100, executed: 90}", "budget: 310.2, executed: 154.74}")
    record = record.replace("reported: {initial_budget: 100, budget: 100, executed: 90, rate: 90, score: 9}",
                            "reported: {budget: 310.2, executed: 154.74, rate: 50, score: 5}")
    record = record.replace("reported: {total: 99}", "reported: {total: 95}")
    beijing = form_of(tmp_path / "b", "2023-x.yaml", with_key(record, "profile: beijing-2016"))
    national = form_of(tmp_path / "n", "2023-x.yaml", record)
    assert (beijing.profile.name, beijing.execution.rate, beijing.execution.score) == ("beijing-2016", D(50), D("5.00"))
    assert codes(beijing) == []
    assert (national.profile.name, national.execution.rate, national.execution.score) == (
        "national", D("49.88"), D("4.99"))


def test_an_unknown_profile_in_a_record_is_located(tmp_path):
    found = problems_of(tmp_path, {"2023-x.yaml": with_key(PROJECT, "profile: bejing-2016")})
    assert len(found) == 1 and found[0].startswith("content/departments/alpha/2023-x.yaml:3:10: profile: expected "
                                                   "one of the shipped profiles")
    assert "did you mean 'beijing-2016'?" in found[0]


def test_the_site_profile_options_stay_with_the_site_profile(tmp_path):
    site = "title: 站点\nprofile: national\nprofile_options: {tolerance: 5}\n"
    record = PROJECT.replace("reported: {total: 99}", "reported: {total: 97}")
    own = form_of(tmp_path / "a", "2023-x.yaml", record, site)
    assert codes(own) == []  # within the site's tolerance of 5
    other = form_of(tmp_path / "b", "2023-x.yaml", with_key(record, "profile: beijing-2016"), site)
    assert ("total-mismatch", "error") in codes(other)  # beijing-2016 as shipped: tolerance 0.01


# ---------------------------------------------------------------- the reader's functions used by other tools


def test_cross_check_and_build_report_take_the_layout_from_the_record():
    text = _row_record("hunan-department-evaluation", "投入", "预算编制")
    doc, problems = parse_source(text.encode("utf-8"), "2023.yaml")
    assert problems == [] and validate(doc, __import__("generator.read.schema", fromlist=["x"]).REPORT_SCHEMA) == []
    assert cross_check(doc, 2023) == [] and level_problems(doc, shipped_rules()) == []
    from generator.read.model import Department

    report = build_report(doc, Department("alpha", "测试"), "content/departments/alpha/2023.yaml")
    assert report.layout.name == "hunan-department-evaluation" and report.indicators[0].level1 == "投入"


def test_the_sample_builds_project_pages(tmp_path):
    root = copy_project(FIXTURES / "tiny", tmp_path / "tiny")
    (root / "content/departments/beta/2021-peixun.yaml").write_text(
        textwrap.dedent(PROJECT).replace("2023", "2021"), encoding="utf-8")
    from generator.build.run import build

    out = build(root).out_dir
    page = (out / "departments/beta/2021/peixun/index.html").read_text(encoding="utf-8")
    assert "项目支出绩效自评表" in page and "测试实施单位" in page and "年度资金总额" in page
    assert "偏差原因分析及改进措施" in page and "年度指标值" in page
    department = (out / "departments/beta/index.html").read_text(encoding="utf-8")
    assert 'href="../../departments/beta/2021/peixun/index.html"' in department
    year = (out / "2021/index.html").read_text(encoding="utf-8")
    assert 'href="../departments/beta/2021/peixun/index.html"' in year
    assert (out / "data/beta/2021-peixun.csv").is_file() and (out / "data/beta/2021-peixun.yaml").is_file()
    bulk = json.loads((out / "data/by-year/2021/reports.json").read_text(encoding="utf-8"))
    assert [f["form"] for f in bulk["forms"]].count("project") == 1


def test_a_record_links_its_source_document(tmp_path):
    record = with_key(PROJECT, "source_url: https://example.org/zp/2023.pdf")
    root = project(tmp_path, {"2023-x.yaml": record})
    from generator.build.run import build

    page = (build(root).out_dir / "departments/alpha/2023/x/index.html").read_text(encoding="utf-8")
    assert '<dd class="source-link"><a href="https://example.org/zp/2023.pdf" rel="nofollow noopener noreferrer ' \
           'external">' in page
    found = problems_of(tmp_path / "bad", {"2023-x.yaml": with_key(PROJECT, "source_url: javascript:alert(1)")})
    assert found == ['content/departments/alpha/2023-x.yaml:3:13: source_url: expected a full web address starting '
                     'with http:// or https://, got "javascript:alert(1)"']


def test_perfsite_profiles_lists_every_profile_and_layout_with_its_citation(capsys):
    assert main(["profiles", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed["profiles"]) >= 6 and len(listed["layouts"]) >= 6
    assert {p["name"] for p in listed["profiles"]} == set(available_profiles())
    assert {x["name"] for x in listed["layouts"]} == set(available_layouts())
    for entry in listed["profiles"] + listed["layouts"]:
        assert entry["title"].strip() and entry["regulation"].strip(), entry["name"]
    assert {"national", "sichuan", "chongqing", "hubei", "hunan", "beijing-2016"} <= {p["name"] for p in
                                                                                   listed["profiles"]}
    assert main(["profiles"]) == 0
    text = capsys.readouterr().out
    assert "依据：湘财绩〔2020〕7号" in text and "national-project  [project]  (default)" in text


def test_a_cell_the_stored_copy_lacks_is_not_transcribed_never_illegible(tmp_path):
    """R2's 二级 names are not in the stored copy: unknown like an illegible cell, but never said to
    be unreadable on the original."""
    record = PROJECT.replace("level2: 数量指标, level3: 培训人数", "level3: 培训人数, untranscribed: [level2]")
    record = record.replace("score: 30}", "untranscribed: [score]}").replace("reported: {total: 99}", "")
    root = project(tmp_path, {"2023-x.yaml": record})
    form = check_project(root).forms[0]
    assert form.report.indicators[0].untranscribed == ("level2",) and "level2" in form.report.indicators[0].illegible
    # the untranscribed score of 社会效益 (≥90% met by 95%: 30.00) is the formula's
    assert form.total == D("99.00")
    messages = [f.message for f in form.findings if f.code == "illegible"]
    assert messages == ["“培训人数”的二级指标未转录（所存资料中没有）。",
                        "“群众知晓率”的得分未转录（所存资料中没有）。"]
    from generator.build.run import build

    page = (build(root).out_dir / "departments/alpha/2023/x/index.html").read_text(encoding="utf-8")
    assert page.count('<span class="illegible untranscribed">未转录</span>') == 1  # the score cell
    assert '<span class="illegible">未转录</span>' in page  # the merged 二级 cell
    assert "原表无法辨认" not in page
    found = problems_of(tmp_path / "bad", {"2023-x.yaml": record.replace("untranscribed: [score]}",
                                                                        "score: 30, untranscribed: [score]}")})
    assert found == ["content/departments/alpha/2023-x.yaml:14:97: indicators[1].score: marked untranscribed but "
                     "has a value (remove the value or take it off the untranscribed list)"]
