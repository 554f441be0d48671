"""A realistic synthetic corpus: many departments × several years of real-size forms.

Sizes follow real published forms: ~15 indicators, three narratives of ~300 characters,
1–3 fund sources. Deterministic for a given seed, so runs are comparable.
"""

from __future__ import annotations

import random
from pathlib import Path

LEVELS = [("产出指标", "数量指标"), ("产出指标", "质量指标"), ("产出指标", "时效指标"), ("产出指标", "成本指标"),
          ("效益指标", "社会效益指标"), ("效益指标", "可持续影响指标"), ("满意度指标", "服务对象满意度指标")]
WORDS = "科普服务人数活动次数宣传报道培训覆盖率资金到位率保障人员经费正常发放单位日常运转管理专款专用群众满意度提升"
PROSE = ("围绕年度重点工作任务，加强预算管理，严格执行各项财务制度，推进项目按期实施，"
         "提升公共服务质量和效率，强化绩效目标管理，确保资金使用安全规范有效。")


def _prose(rng: random.Random, length: int = 300) -> str:
    text = ""
    while len(text) < length:
        start = rng.randrange(len(PROSE) - 20)
        text += PROSE[start:start + rng.randint(15, 40)] + "。"
    return text


def _indicator(rng: random.Random, weight: int) -> str:
    level1, level2 = rng.choice(LEVELS)
    content = "".join(rng.sample(WORDS, 6))
    if level2 == "成本指标":
        target = rng.randint(50, 500)
        actual = round(target * rng.uniform(0.8, 1.1), 2)
        pair = f"target: ≤{target}万元, actual: {actual}万元"
    elif level1 == "效益指标" and rng.random() < 0.5:
        pair = "target: 良好以上, actual: 良好以上"
    else:
        target = rng.randint(10, 20000)
        actual = int(target * rng.uniform(0.85, 1.15))
        pair = f"target: ≥{target}人次, actual: {actual}人次"
    score = weight if rng.random() < 0.8 else round(weight * rng.uniform(0.6, 1), 2)
    return (f"  - {{level1: {level1}, level2: {level2}, level3: 项目支出, content: {content}, "
            f"{pair}, weight: {weight}, score: {score}}}\n")


def write_form(path: Path, rng: random.Random, year: int) -> None:
    sources = []
    for name in ["财政拨款", "其他资金", "上级转移支付"][: rng.randint(1, 3)]:
        budget = round(rng.uniform(50, 5000), 2)
        executed = round(budget * rng.uniform(0.7, 1.1), 2)
        sources.append(f"    - {{name: {name}, budget: {budget}, executed: {executed}}}\n")
    weights = [6] * 15
    text = (f"year: {year}\nunits: 1\nfunds:\n  weight: 10\n  sources:\n{''.join(sources)}"
            f"functions: |\n  {_prose(rng)}\n"
            f"goals:\n  planned: |\n    1. {_prose(rng, 150)}\n    2. {_prose(rng, 150)}\n"
            f"  achieved: |\n    1. {_prose(rng, 150)}\n    2. {_prose(rng, 150)}\n"
            f"indicators:\n{''.join(_indicator(rng, w) for w in weights)}"
            f"reported: {{total: {rng.randint(80, 100)}}}\n")
    path.write_text(text, encoding="utf-8")


def write_project_form(path: Path, rng: random.Random, year: int, number: int) -> None:
    """A project form (national project layout): two fund sources, nine indicators of 10 points."""
    sources = []
    for name in ["当年财政拨款", "其他资金"][: rng.randint(1, 2)]:
        budget = round(rng.uniform(10, 800), 2)
        executed = round(budget * rng.uniform(0.7, 1.05), 2)
        sources.append(f"    - {{name: {name}, budget: {budget}, executed: {executed}}}\n")
    text = (f"year: {year}\nunits: 1\nproject: 基准测试项目{number:06d}（虚构）\nfunds:\n  weight: 10\n"
            f"  sources:\n{''.join(sources)}"
            f"goals:\n  planned: |\n    {_prose(rng, 150)}\n  achieved: |\n    {_prose(rng, 150)}\n"
            f"indicators:\n{''.join(_indicator(rng, 10) for _ in range(9))}"
            f"reported: {{total: {rng.randint(80, 100)}}}\n")
    path.write_text(text, encoding="utf-8")


def write_corpus(root: Path, forms: int, years: int = 5, seed: int = 2021, search: bool = True,
                 projects: int = 0) -> Path:
    """A project folder with ``forms`` forms: forms/years departments × ``years`` years.

    ``projects``: project forms beside each department form (a province publishes several times
    as many project forms as department forms); the ``forms`` are then shared out, one
    department form and ``projects`` project forms at a time.
    """
    rng = random.Random(seed)
    content = root / "content"
    (content / "departments").mkdir(parents=True, exist_ok=True)
    (content / "site.yaml").write_text("title: 基准测试站点\nbase_url: https://example.org/bench\n"
                                       f"search: {'true' if search else 'false'}\n", encoding="utf-8")
    departments = max(1, forms // years // (1 + projects))
    written = 0
    for d in range(departments):
        folder = content / "departments" / f"dept-{d:05d}"
        folder.mkdir(exist_ok=True)
        (folder / "department.yaml").write_text(f"name: 基准测试部门{d:05d}（虚构）\nfictional: true\n",
                                                encoding="utf-8")
        for y in range(years):
            if written == forms:
                break
            write_form(folder / f"{2019 + y}.yaml", rng, 2019 + y)
            written += 1
            for p in range(projects):
                if written == forms:
                    break
                write_project_form(folder / f"{2019 + y}-p{p + 1}.yaml", rng, 2019 + y, written)
                written += 1
    return root


HUGO_CONFIG = ('baseURL = "https://example.org/bench/"\ntitle = "基准测试站点"\nlanguageCode = "zh-CN"\n'
               'disableKinds = ["taxonomy", "term"]\n')
HUGO_PAGE = ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{{ .Title }}</title></head>"
             "<body><h1>{{ .Title }}</h1>{{ .Content }}</body></html>\n")
HUGO_LIST = ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{{ .Title }}</title></head>"
             "<body><h1>{{ .Title }}</h1><ul>{{ range .Pages }}<li><a href=\"{{ .RelPermalink }}\">{{ .Title }}"
             "</a></li>{{ end }}</ul></body></html>\n")


def write_hugo_site(root: Path, project: Path) -> Path:
    """A Hugo site with one plain markdown page per form of ``project``: its narratives and indicator table.

    The closest page Hugo makes to a perfsite form page without a theme: no scores worked
    out, no charts, no downloads; a reference for the cost of a page, not the same product.
    """
    import yaml

    (root / "layouts" / "_default").mkdir(parents=True, exist_ok=True)
    (root / "hugo.toml").write_text(HUGO_CONFIG, encoding="utf-8")
    (root / "layouts" / "_default" / "single.html").write_text(HUGO_PAGE, encoding="utf-8")
    (root / "layouts" / "_default" / "list.html").write_text(HUGO_LIST, encoding="utf-8")
    for record in sorted((project / "content" / "departments").glob("*/[0-9]*.yaml")):
        form = yaml.load(record.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        rows = "".join(f"| {i['level1']} | {i['level2']} | {i['content']} | {i['target']} | {i['actual']} | "
                       f"{i['weight']} | {i['score']} |\n" for i in form["indicators"])
        functions = form.get("functions", "")  # a project form has none
        page = (f"---\ntitle: \"{record.parent.name} {record.stem}\"\n---\n\n## 主要职能\n\n{functions}\n"
                f"## 年度目标\n\n{form['goals']['planned']}\n## 完成情况\n\n{form['goals']['achieved']}\n"
                "## 绩效指标\n\n| 一级指标 | 二级指标 | 指标内容 | 年度指标值 | 实际完成值 | 分值 | 得分 |\n"
                f"|---|---|---|---|---|---|---|\n{rows}")
        target = root / "content" / "departments" / record.parent.name / f"{record.stem}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page, encoding="utf-8")
    return root
