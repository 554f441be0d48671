"""The site configuration (``content/site.yaml``) and the project folder layout.

A project folder holds ``content/`` (records and ``site.yaml``), optionally
``overrides/`` (templates and static files that win over the theme), and receives the
built site in ``site/``. Unknown keys are errors; free-form data goes under ``extra``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, ContentError, Problem
from .inputs import folder_problem
from .layouts import DEFAULT_LAYOUTS, Rules, shipped_rules
from .profiles import Profile, available_profiles, load_profile
from .validate import suggest, validate
from .yamlsource import Document, read_yaml

LANGUAGES = ["zh-CN", "en"]

SITE_SCHEMA = {
    "title": "站点配置（content/site.yaml）",
    "type": "object",
    "additionalProperties": False,
    "required": ["title"],
    "properties": {
        "title": {"type": "string", "title": "站点名称", "minLength": 1},
        "description": {"type": "string", "title": "站点说明"},
        "publisher": {"type": "string", "title": "发布机关", "description": "例如：某某区财政局。"},
        "language": {"type": "string", "title": "界面语言", "enum": LANGUAGES},
        "theme": {"type": "string", "title": "主题", "description": "themes/ 下的主题名，缺省为 default。"},
        "base_url": {"type": "string", "title": "网站地址",
                     "description": "发布后的完整网址，仅用于 sitemap.xml 和 feed.xml；页面内链接始终是相对的。",
                     "pattern": r"^https?://[^\s<>\"']+$",
                     "x-expected": "a full web address starting with http:// or https://"},
        "profile": {"type": "string", "title": "评分规则", "description": "随软件提供的评分规则名称。"},
        "profile_options": {"type": "object", "title": "评分规则覆盖项",
                            "description": "覆盖所选评分规则（profile）中的任意选项；记录自选的其他规则不受影响。"},
        "layouts": {"type": "object", "title": "默认表样", "additionalProperties": False,
                    "description": "各类表缺省使用的表样；记录可用 layout: 自选。",
                    "properties": {"department": {"type": "string", "title": "部门整体支出绩效自评表", "minLength": 1},
                                   "project": {"type": "string", "title": "项目支出绩效自评表", "minLength": 1}}},
        "search": {"type": "boolean", "title": "全文搜索",
                   "description": "true（缺省）时生成离线中文全文搜索（Pagefind）和搜索页。"},
        "all_years_downloads": {
            "type": "boolean", "title": "跨年度汇总下载",
            "description": "true 时另生成包含所有年度的 data/reports.json、reports.csv、indicators.csv"
                           "（每次构建都要重写，表多时又大又慢）；缺省只生成 data/by-year/<年度>/ 下的三个文件。"},
        "rows_per_page": {
            "type": "integer", "title": "列表每页行数", "minimum": 1,
            "description": "年度排名、项目表、部门列表和年度审核发现表每页最多列出的行数（缺省 1000）；"
                           "超出时分页，使一万张表的年度页面在手机上也打得开。"},
        "extra": {"type": "object", "title": "其他", "description": "主题可用的自由数据。"},
    },
}

ROWS_PER_PAGE = 1000  # about 0.6 MB of ranking rows: every page stays well under 2 MB


@dataclass(frozen=True)
class SiteConfig:
    """Everything the later stages need to know about the project folder."""

    project_dir: Path
    title: str
    description: str
    publisher: str
    language: str
    theme: str
    base_url: str
    profile: Profile
    extra: dict
    search: bool = True
    all_years_downloads: bool = False  # the bulk files of every year together, besides each year's
    rows_per_page: int = ROWS_PER_PAGE  # of the lists of every form or department, then paged
    rules: Rules = field(default_factory=shipped_rules)
    profiles: dict[str, Profile] = field(default_factory=dict)  # every shipped profile; the site's with its options
    profile_chosen: bool = True  # False: site.yaml names no profile and 'national' is used (reported by check)

    def profile_for(self, report) -> Profile:
        """The profile a form is scored under: its own (``profile:``) or the site's."""
        name = report.profile_name
        if not name or name == self.profile.name:
            return self.profile
        if name not in self.profiles:
            loaded, problems = load_profile(name)
            if problems:
                raise ContentError(problems)
            self.profiles[name] = loaded
        return self.profiles[name]

    @property
    def content_dir(self) -> Path:
        return self.project_dir / "content"

    @property
    def departments_dir(self) -> Path:
        return self.content_dir / "departments"

    @property
    def overrides_dir(self) -> Path:
        return self.project_dir / "overrides"


def themes_root() -> Path:
    """Where the shipped themes live, in a checkout and in an installed wheel alike."""
    import perfsite_themes

    return Path(perfsite_themes.__path__[0])


def available_themes() -> list[str]:
    return sorted(p.name for p in themes_root().iterdir() if (p / "theme.yaml").is_file())


def load_config(project_dir: Path) -> SiteConfig:
    """Read and check ``content/site.yaml``; raise with every problem found."""
    project_dir = project_dir.resolve()
    content = project_dir / "content"
    problem = folder_problem(content, project_dir, "content")
    if problem is not None:
        raise ContentError([problem])
    if not content.is_dir():
        raise ConfigError(f"{project_dir}: no content/ folder here "
                          "(run in a project folder or pass --project DIR)")
    path = content / "site.yaml"
    if not os.path.lexists(path):
        raise ConfigError("content/site.yaml: missing (every site needs one, at least `title:`)")
    doc, problems = read_yaml(path, "content/site.yaml", project_dir)
    if not problems:
        problems = validate(doc, SITE_SCHEMA)
    if problems:
        raise ContentError(problems)
    data = doc.data
    profile = _load_site_profile(doc, data)
    rules = _load_rules(doc, data)
    theme = data.get("theme") or "default"
    if theme not in available_themes():
        raise ContentError([Problem(doc.where(("theme",)), "theme", f"unknown theme {theme!r}",
                                    suggest(theme, available_themes()))])
    return SiteConfig(
        project_dir=project_dir,
        title=data["title"].strip(),
        description=(data.get("description") or "").strip(),
        publisher=(data.get("publisher") or "").strip(),
        language=data.get("language") or "zh-CN",
        theme=theme,
        base_url=(data.get("base_url") or "").rstrip("/"),
        profile=profile,
        extra=data.get("extra") or {},
        search=data.get("search") is not False,
        all_years_downloads=data.get("all_years_downloads") is True,
        rows_per_page=data.get("rows_per_page") or ROWS_PER_PAGE,
        rules=rules,
        profiles={profile.name: profile},
        profile_chosen=bool(data.get("profile")),
    )


def _load_rules(doc: Document, data: dict) -> Rules:
    """The shipped layouts and profiles with the site's default layout per form kind."""
    shipped = shipped_rules()
    chosen = data.get("layouts") or {}
    problems = []
    for kind, name in chosen.items():
        layout = shipped.layouts.get(name)
        if layout is None:
            problems.append(Problem(doc.where(("layouts", kind)), f"layouts.{kind}", f"unknown layout {name!r}",
                                    suggest(name, sorted(shipped.layouts))))
        elif layout.form != kind:
            problems.append(Problem(doc.where(("layouts", kind)), f"layouts.{kind}",
                                    f"expected a layout for {kind} forms, got {name!r} (a {layout.form} layout)"))
    if problems:
        raise ContentError(problems)
    if not chosen:
        return shipped
    return Rules(shipped.layouts, shipped.profile_names, {**DEFAULT_LAYOUTS, **chosen})


def _load_site_profile(doc: Document, data: dict) -> Profile:
    name = data.get("profile") or "national"
    if name not in available_profiles():
        raise ContentError([Problem(doc.where(("profile",)), "profile",
                                    f"unknown profile {name!r}", suggest(name, available_profiles()))])
    profile, problems = load_profile(name, data.get("profile_options") or {}, doc=doc,
                                     path=("profile_options",))
    if problems:
        raise ContentError(problems)
    return profile
