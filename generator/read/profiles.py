"""Scoring rule profiles: the rules are data, shipped as YAML, chosen by the site.

A profile names every choice on which published forms disagree (DESIGN §3.2): rate
basis, execution method and weight, qualitative bands, rounding, grade bands and the
standard level-1 weights; and every rule the national text leaves open (``=`` and strict
targets, the reverse formula, lower-is-better names, achieved wording, the grade boundary),
each with a documented default (docs/profiles.md). ``content/site.yaml`` picks one by name and may override any
option under ``profile_options``; an unknown option is an error, located in site.yaml.
"""

from __future__ import annotations

import copy
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ..errors import Location, Problem
from .validate import check_value
from .yamlsource import Document, KeyPath, format_path, read_yaml

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"  # resolved: shipped files are checked like inputs

def _band(title: str) -> dict:
    return {"type": "array", "minItems": 2, "maxItems": 2, "title": title,
            "description": "[下限, 上限]，占分值的百分比。",
            "items": {"type": "number", "minimum": 0, "maximum": 100}}

def _choice(values: list[str], title: str, description: str) -> dict:
    return {"type": "string", "enum": values, "title": title, "description": description}


def _phrases(title: str, description: str) -> dict:
    return {"type": "array", "title": title, "description": description,
            "items": {"type": "string", "minLength": 1, "title": "片段"}}


PROFILE_SCHEMA = {
    "title": "评分规则",
    "type": "object",
    "additionalProperties": False,
    "required": ["title", "regulation", "execution", "indicators", "level1_weights",
                 "grades", "grade_boundary", "rounding", "tolerance"],
    "properties": {
        "extends": {"type": "string", "title": "继承的规则"},
        "title": {"type": "string", "title": "规则名称"},
        "regulation": {"type": "string", "title": "依据的文件"},
        "execution": {
            "type": "object", "title": "预算执行率", "additionalProperties": False,
            "required": ["weight", "rate_basis", "method", "step_bands"],
            "properties": {
                "weight": {"type": "number", "title": "执行率分值", "minimum": 0, "maximum": 100},
                "rate_basis": {"type": "string", "title": "执行率口径",
                               "enum": ["executed", "net_of_transfer"]},
                "method": {"type": "string", "title": "执行率计分方法",
                           "enum": ["capped", "symmetric_deviation", "step_bands"]},
                "step_bands": {
                    "type": "array", "title": "分档", "minItems": 1,
                    "items": {"type": "object", "additionalProperties": False,
                              "required": ["min_rate", "share"],
                              "properties": {
                                  "min_rate": {"type": "number", "minimum": 0, "title": "执行率下限（%）"},
                                  "share": {"type": "number", "minimum": 0, "maximum": 100,
                                            "title": "得分占分值（%）"}}},
                },
            },
        },
        "indicators": {
            "type": "object", "title": "指标计分", "additionalProperties": False,
            "required": ["lower_is_better", "qualitative_bands", "over_achievement_ratio",
                         "not_applicable", "exact_targets", "strict_comparators", "reverse_formula",
                         "lower_is_better_patterns", "achieved_phrases"],
            "properties": {
                "lower_is_better": {"type": "array", "title": "越低越好的二级指标",
                                    "items": {"type": "string", "minLength": 1}},
                "qualitative_bands": {
                    "type": "object", "title": "定性指标分档", "additionalProperties": False,
                    "required": ["achieved", "partial", "missed"],
                    "properties": {"achieved": _band("达成"), "partial": _band("部分达成"), "missed": _band("未达成")},
                },
                "over_achievement_ratio": {"type": "number", "minimum": 1, "title": "超额完成提示倍数"},
                "explain_over_achievement_ratio": {
                    "type": "number", "minimum": 1, "title": "超额完成须说明原因的倍数",
                    "description": "完成值达到目标值的此倍数时须填写原因（广西 1.3）；不写：不要求。"},
                "not_applicable": {"type": "string", "enum": ["rescale", "drop"], "title": "不适用指标的处理",
                                   "description": "rescale：剔除后按比例折算到 100；drop：直接剔除。"},
                "exact_targets": _choice(
                    ["as_direction", "proportional_both_ways"], "“=”目标的计分",
                    "as_direction：按指标方向，等于或优于目标得满分；proportional_both_ways：偏离即按"
                    " 分值×较小值/较大值 计分。"),
                "strict_comparators": {
                    "type": "boolean", "title": "“>”“<”不含等于",
                    "description": "true：目标为 >90% 时完成值 90% 算未达成（得分不变，须说明原因）。"},
                "reverse_formula": _choice(
                    ["ratio", "linear"], "越低越好指标的计分公式",
                    "ratio：分值×目标值/完成值；linear：分值×(1−(完成值−目标值)/目标值)，完成值达目标值两倍得 0。"),
                "lower_is_better_patterns": _phrases(
                    "越低越好的指标名称片段", "目标内容或三级指标含其中任一片段、且未写比较符时按越低越好计分。"),
                "achieved_phrases": _phrases(
                    "视为达成的完成值表述", "定性指标的完成值（去掉空白和标点后）与其中之一完全相同时按“达成”核对。"),
            },
        },
        "level1_weights": {
            "type": "object", "title": "一级指标标准权重",
            "description": "表样没有标准分值时使用；一级指标名称须与记录所用表样一致。",
            "additionalProperties": {"type": "number", "minimum": 0, "title": "标准分值"},
        },
        "grades": {
            "type": "array", "minItems": 1, "title": "等级标准",
            "items": {"type": "object", "additionalProperties": False,
                      "required": ["grade", "min"],
                      "properties": {"grade": {"type": "string", "title": "等级"},
                                     "min": {"type": "number", "minimum": 0, "title": "最低总分"}}},
        },
        "rounding": {
            "type": "object", "title": "舍入", "additionalProperties": False,
            "required": ["places", "mode", "rate_first"],
            "properties": {
                "places": {"type": "integer", "minimum": 0, "maximum": 6, "title": "小数位数"},
                "mode": {"type": "string", "enum": ["half_up", "half_even", "truncate"], "title": "舍入方式",
                         "description": "half_up 四舍五入；half_even 银行家舍入；truncate 截断。"},
                "rate_first": {"type": "boolean", "title": "先舍入执行率",
                               "description": "true：先把执行率舍入到百分数的小数位数，再计算得分。"},
                "rate_places": {"type": "integer", "minimum": 0, "maximum": 6, "title": "执行率小数位数",
                                "description": "执行率（百分数）的小数位数；缺省同 places。"},
                "rate_mode": {"type": "string", "enum": ["half_up", "half_even", "truncate"],
                              "title": "执行率舍入方式", "description": "缺省同 mode。"},
            },
        },
        "grade_boundary": _choice(["at_least", "above"], "等级分界",
                                  "at_least：总分达到下限即得该等级（90 分为优）；above：须高于下限（90 分为良）。"),
        "tolerance": {"type": "number", "minimum": 0, "title": "容差",
                      "description": "填报数与计算数相差超过此值才提示。"},
    },
}


def _optional(schema: dict) -> dict:
    """The same schema with nothing required and no empty values: what an override may contain."""
    out = {k: v for k, v in schema.items() if k != "required"}
    if "properties" in out:
        out["properties"] = {k: _optional(v) for k, v in out["properties"].items() if k != "extends"}
        out["x-no-null"] = True
    return out


OVERRIDE_SCHEMA = _optional(PROFILE_SCHEMA) | {"title": "评分规则覆盖项"}


@dataclass(frozen=True)
class Profile:
    """One complete, validated rule set; every number a Decimal."""

    name: str
    title: str
    regulation: str
    execution_weight: Decimal
    rate_basis: str
    execution_method: str
    step_bands: tuple[tuple[Decimal, Decimal], ...]
    lower_is_better: frozenset[str]
    qualitative_bands: dict[str, tuple[Decimal, Decimal]]
    over_achievement_ratio: Decimal
    not_applicable: str
    exact_targets: str
    strict_comparators: bool
    reverse_formula: str
    lower_is_better_patterns: tuple[str, ...]
    achieved_phrases: frozenset[str]
    level1_weights: dict[str, Decimal]
    grades: tuple[tuple[str, Decimal], ...]
    grade_boundary: str
    places: int
    rounding_mode: str
    rate_first: bool
    rate_places: int
    rate_mode: str
    tolerance: Decimal
    options: dict
    overrides: dict
    explain_over_achievement_ratio: Decimal | None = None  # 广西: 1.3; None: no explanation required


def phrase_key(text: str) -> str:
    """A phrase as compared: NFKC, without blanks and punctuation (``已完成。`` is ``已完成``)."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if not (c.isspace() or unicodedata.category(c).startswith("P")))


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def merge_options(base: dict, overrides: dict) -> dict:
    """Deep merge: mappings merge key by key, everything else is replaced."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_options(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read_shipped(name: str, seen: tuple[str, ...] = ()) -> tuple[dict, list[Problem]]:
    path = PROFILE_DIR / f"{name}.yaml"
    doc, problems = read_yaml(path, f"profiles/{name}.yaml")
    if problems:
        return {}, problems
    data = dict(doc.data)
    parent = data.pop("extends", None)
    if parent and parent not in seen:
        base, problems = _read_shipped(parent, seen + (name,))
        return merge_options(base, data), problems
    return data, []


def load_profile(name: str, overrides: dict | None = None, *, doc: Document | None = None,
                 path: KeyPath = ()) -> tuple[Profile | None, list[Problem]]:
    """The named shipped profile with the site's overrides applied and checked."""
    overrides = overrides or {}
    problems: list[Problem] = []
    if doc is not None:
        check_value(doc, overrides, OVERRIDE_SCHEMA, path, problems)
        if problems:
            return None, problems
    options, problems = _read_shipped(name)
    if problems:
        return None, problems
    options = merge_options(options, overrides)
    check_value(Document(f"profiles/{name}.yaml"), options, PROFILE_SCHEMA, (), problems)
    if problems:
        return None, problems
    for band, (low, high) in options["indicators"]["qualitative_bands"].items():
        if low > high:
            at = ("indicators", "qualitative_bands", band)
            in_site = band in overrides.get("indicators", {}).get("qualitative_bands", {})
            where = doc.where(path + at) if doc is not None and in_site else Location(f"profiles/{name}.yaml")
            problems.append(Problem(where, format_path((path if in_site else ()) + at),
                                    f"expected [low, high] with low ≤ high, got [{low}, {high}]"))
    problems += _grade_order(options["grades"], "grades" in overrides, name, doc, path)
    if problems:
        return None, problems
    return _to_profile(name, options, overrides), []


def _grade_order(grades: list[dict], in_site: bool, name: str, doc: Document | None,
                 path: KeyPath) -> list[Problem]:
    """Grades must be listed from the highest ``min`` down, each strictly lower: a total gets the
    first grade whose min it reaches, so a list in another order would mean one thing to the
    reader and another to the code (it is refused rather than sorted behind their back)."""
    out = []
    for i in range(1, len(grades)):
        above, here = grades[i - 1], grades[i]
        if Decimal(here["min"]) >= Decimal(above["min"]):
            at = ("grades", i, "min")
            where = doc.where(path + at) if doc is not None and in_site else Location(f"profiles/{name}.yaml")
            hint = (f"list {here['grade']} before {above['grade']}" if Decimal(here["min"]) > Decimal(above["min"])
                    else "two grades cannot share a minimum")
            out.append(Problem(where, format_path((path if in_site else ()) + at),
                               f"expected a min below {above['min']} (grades go from the highest min to the "
                               f"lowest), got {here['min']}", hint))
    return out


def _to_profile(name: str, o: dict, overrides: dict) -> Profile:
    execution, indicators, rounding = o["execution"], o["indicators"], o["rounding"]
    bands = sorted(((Decimal(b["min_rate"]), Decimal(b["share"])) for b in execution["step_bands"]),
                   reverse=True)
    return Profile(
        name=name,
        title=o["title"],
        regulation=o["regulation"],
        execution_weight=Decimal(execution["weight"]),
        rate_basis=execution["rate_basis"],
        execution_method=execution["method"],
        step_bands=tuple(bands),
        lower_is_better=frozenset(indicators["lower_is_better"]),
        qualitative_bands={k: (Decimal(v[0]), Decimal(v[1]))
                           for k, v in indicators["qualitative_bands"].items()},
        over_achievement_ratio=Decimal(indicators["over_achievement_ratio"]),
        not_applicable=indicators["not_applicable"],
        exact_targets=indicators["exact_targets"],
        strict_comparators=indicators["strict_comparators"],
        reverse_formula=indicators["reverse_formula"],
        lower_is_better_patterns=tuple(indicators["lower_is_better_patterns"]),
        achieved_phrases=frozenset(filter(None, map(phrase_key, indicators["achieved_phrases"]))),
        level1_weights={k: Decimal(v) for k, v in o["level1_weights"].items()},
        grades=tuple((g["grade"], Decimal(g["min"])) for g in o["grades"]),  # in order: see _grade_order
        grade_boundary=o["grade_boundary"],
        places=rounding["places"],
        rounding_mode=rounding["mode"],
        rate_first=rounding["rate_first"],
        rate_places=rounding.get("rate_places", rounding["places"]),
        rate_mode=rounding.get("rate_mode", rounding["mode"]),
        tolerance=Decimal(o["tolerance"]),
        options=o,
        overrides=overrides,
        explain_over_achievement_ratio=_optional_decimal(indicators.get("explain_over_achievement_ratio")),
    )


def _optional_decimal(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))
