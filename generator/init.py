"""``perfsite init [DIR]``: a new project that builds at once.

It writes ``content/site.yaml`` with the scoring rules chosen explicitly (a site that names none
is reported by ``check``), one department with one complete, clearly fictional form to edit or
copy, and the JSON Schemas editors read. Nothing that exists is ever overwritten.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError
from .files import write_atomic
from .read.profiles import available_profiles, load_profile
from .scaffold import MODELINE, _quote, write_schemas

EXAMPLE_SLUG = "shili-danwei"

SITE = """\
# 站点配置。perfsite profiles 列出可选的评分规则和表样。
title: {title}
language: {language}
# 评分规则：按本地区的文件选择（{profile_title}；依据：{regulation}）
profile: {profile}
# 各类表缺省的表样（记录里可用 layout: 另选）
layouts: {{department: national-department, project: national-project}}
"""

DEPARTMENT = MODELINE.format(kind="department") + """\
name: 示例单位（请替换为真实单位）
region: 示例地区
fictional: true      # 虚构示例：每个页面都会醒目标注。录入真实数据后删除本行或改为 false
"""

FORM = MODELINE.format(kind="report") + """\
# 一张完整的虚构示例表：照此格式录入真实自评表（perfsite new <部门> <年度> 可生成空白表）。
year: {year}
form: department
money_unit: 万元
funds:
  weight: 10
  sources:
    - {{name: 财政拨款, budget: 100, executed: 95}}
  reported: {{budget: 100, executed: 95, rate: 95.00, score: 9.50}}
functions: |
  示例单位的主要职能（虚构）。
goals:
  planned: |
    1. 完成年度重点工作（虚构）。
  achieved: |
    1. 已完成年度重点工作（虚构）。
indicators:
  - {{level1: 产出指标, level2: 数量指标, level3: 示例项目, content: 服务人次, target: 1000人次, actual: 1000人次,
     weight: 50, score: 50}}
  - {{level1: 效益指标, level2: 社会效益指标, level3: 示例项目, content: 社会效益, target: 效果明显, actual: 效果明显,
     weight: 30, score: 30}}
  - {{level1: 满意度指标, level2: 服务对象满意度指标, level3: 示例项目, content: 服务对象满意度, target: ≥90%,
     actual: 95%, weight: 10, score: 10}}
reported: {{total: 99.50}}
source: 虚构示例，不是公开的自评表。
"""


def init_project(folder: Path, title: str = "部门整体支出绩效自评公开", profile: str = "national",
                 language: str = "zh-CN", year: int = 2024) -> list[Path]:
    """Create a project in ``folder`` (made if missing); refuse when it already has content/."""
    if profile not in available_profiles():
        raise ConfigError(f"--profile {profile!r}: unknown; shipped profiles: {', '.join(available_profiles())}")
    if not title.strip() or "\n" in title:
        raise ConfigError("--title: give one line of text")
    if os.path.lexists(folder / "content"):
        raise ConfigError(f"{folder / 'content'}: already exists; nothing was changed (init makes a new project)")
    if os.path.lexists(folder) and not folder.is_dir():
        raise ConfigError(f"{folder}: not a folder")
    loaded, problems = load_profile(profile)
    if problems:
        raise ConfigError(str(problems[0]))
    folder.mkdir(parents=True, exist_ok=True)
    department = folder / "content" / "departments" / EXAMPLE_SLUG
    department.mkdir(parents=True)
    files = {
        folder / "content" / "site.yaml": SITE.format(title=_quote(title.strip()), language=language,
                                                      profile=profile, profile_title=loaded.title,
                                                      regulation=loaded.regulation),
        department / "department.yaml": DEPARTMENT,
        department / f"{year}.yaml": FORM.format(year=year),
    }
    for path, text in files.items():
        write_atomic(path, text.encode("utf-8"))
    write_schemas(folder)
    return list(files)
