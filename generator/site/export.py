"""The ``check`` JSON contract: one object per form, numbers as exact JSON numbers.

This is the documented, stable shape (docs/check-json.md) that ``perfsite check
--format json`` prints and the site offers as each form's download. Decimals are
written from their exact text, never through binary floats.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal

from ..read.config import SITE_SCHEMA
from ..read.layouts import DEFAULT_LAYOUTS, LAYOUT_SCHEMA, shipped_rules
from ..read.profiles import OVERRIDE_SCHEMA, PROFILE_SCHEMA
from ..read.schema import DEPARTMENT_SCHEMA, REPORT_SCHEMA, json_schema
from ..score.scoring import IndicatorResult, ScoredReport, possible_grades

SCHEMA_BASE = "https://perfsite.invalid/schema/"

CONTRACT_VERSION = 1


def profile_to_dict(scored: ScoredReport) -> dict:
    p = scored.profile
    return {"name": p.name, "title": p.title, "regulation": p.regulation, "overrides": p.overrides}


def form_to_dict(scored: ScoredReport) -> dict:
    report, ex = scored.report, scored.execution
    return {
        "department": report.department.slug,
        "department_name": report.department.name,
        "fictional": report.department.fictional,
        "year": report.year,
        "form": report.form,
        **({"project": {"id": report.project_id, "name": report.project, "code": report.project_code,
                        "authority": report.authority, "implementer": report.implementer}}
           if report.is_project else {}),
        "file": report.src_path,
        **({"source_url": report.source_url} if report.source_url else {}),
        "profile": profile_to_dict(scored),
        "layout": {"name": report.layout.name, "title": report.layout.title, "regulation": report.layout.regulation},
        "untranscribed": [{"part": u.part, "note": u.note} for u in report.untranscribed],
        "money_unit": report.money_unit,
        "funds": {
            "budget": ex.totals.budget,
            "executed": ex.totals.executed,
            "transfer": ex.totals.transfer,
            "sources": [{"name": s.name, "initial_budget": s.initial_budget, "budget": s.budget,
                         "executed": s.executed, "transfer": s.transfer,
                         **({"rate": s.rate} if s.rate is not None else {}),
                         **({"score": s.score} if s.score is not None else {}),
                         "illegible": list(s.illegible)} for s in report.sources],
            "reported": {"initial_budget": report.reported_funds.initial_budget,
                         "budget": report.reported_funds.budget, "executed": report.reported_funds.executed,
                         "transfer": report.reported_funds.transfer,
                         "illegible": list(report.reported_funds.illegible)},
        },
        "execution": {
            "rate": ex.rate,
            "score": ex.score if ex.score_high is None else None,
            "score_range": [ex.score, ex.score if ex.score_high is None else ex.score_high],
            "weight": ex.weight,
            "reported": {"rate": ex.reported_rate, "score": ex.reported_score},
        },
        "indicators": [indicator_to_dict(r) for r in scored.indicators],
        "total": scored.total if scored.total_known else None,
        "total_range": [scored.total, scored.total if scored.total_known else scored.total_high],
        "reported_total": report.reported_total,
        "grade": scored.grade,
        "grade_range": list(possible_grades(scored)),
        "reported_grade": report.reported_grade,
        "findings": [f.as_dict() for f in scored.findings],
    }


def indicator_to_dict(row: IndicatorResult) -> dict:
    ind = row.indicator
    return {
        "path": ind.path,
        "level1": ind.level1,
        "level2": ind.level2,
        "level3": ind.level3,
        "content": ind.content,
        "target": ind.target.as_dict() if ind.target else None,
        "actual": ind.actual.as_dict() if ind.actual else None,
        **({"base": ind.base.as_dict()} if ind.base else {}),  # only rows that give one: other exports unchanged
        "weight": ind.weight,
        "kind": row.kind,
        "direction": row.direction,
        "achievement": row.achievement,
        "band": list(row.band) if row.band else None,
        "score": row.score,
        "computed_score": row.computed,
        "reported_score": ind.score,
        "reason": ind.reason,
        "measures": ind.measures,
        **{k: v for k, v in (("nature", ind.nature), ("unit", ind.unit), ("coefficient", ind.coefficient),
                             ("core", ind.core)) if v not in ("", None)},  # only rows that print them
        "note": ind.note,
        "illegible": list(ind.illegible),
    }


def all_schemas() -> dict[str, dict]:
    """Every record format as a JSON Schema document, for editors and other tools."""
    site = dict(SITE_SCHEMA, properties=dict(SITE_SCHEMA["properties"]))
    site["properties"]["profile_options"] = dict(OVERRIDE_SCHEMA, title="评分规则覆盖项")
    return {
        "report": with_layout_levels(json_schema(REPORT_SCHEMA, SCHEMA_BASE + "report.schema.json")),
        "department": json_schema(DEPARTMENT_SCHEMA, SCHEMA_BASE + "department.schema.json"),
        "site": json_schema(site, SCHEMA_BASE + "site.schema.json"),
        "profile": json_schema(PROFILE_SCHEMA, SCHEMA_BASE + "profile.schema.json"),
        "layout": json_schema(LAYOUT_SCHEMA, SCHEMA_BASE + "layout.schema.json"),
    }


def with_layout_levels(schema: dict) -> dict:
    """The report schema for editors with each shipped layout's 一级/二级 names: the reader checks
    them against the record's layout (:func:`generator.read.records.level_problems`); here every
    layout becomes an ``if layout is … then`` branch, and a record without ``layout`` gets the
    national layout of its form kind (a site that changes the default checks with ``perfsite check``)."""
    rules = shipped_rules()
    item = schema["properties"]["indicators"]["items"]
    names = sorted({n for layout in rules.layouts.values() for n in layout.levels})
    item["properties"]["level1"] = {**item["properties"]["level1"], "examples": names}
    branches = []
    for name, layout in sorted(rules.layouts.items()):
        level1 = {"enum": list(layout.levels)}
        rows = {"type": "object", "properties": {"level1": level1}}
        if all(layout.levels.values()):
            rows["properties"]["level2"] = {"enum": sorted({n for v in layout.levels.values() for n in v}) + [None]}
        chosen = {"properties": {"layout": {"const": name}}, "required": ["layout"]}
        if name == DEFAULT_LAYOUTS[layout.form]:  # no layout named: the default for the form kind
            kind = ({"properties": {"form": {"const": "project"}}, "required": ["form"]} if layout.form == "project"
                    else {"not": {"properties": {"form": {"const": "project"}}, "required": ["form"]}})
            chosen = {"anyOf": [chosen, {"allOf": [{"not": {"required": ["layout"]}}, kind]}]}
        branches.append({"if": chosen, "then": {"properties": {"indicators": {"items": rows}}}})
    return {**schema, "allOf": branches}


def dumps(value: object, indent: int | None = 2) -> str:
    """JSON text with Decimals as exact numbers; keys keep their insertion order.

    Decimals travel through the encoder as marked strings (its ``default`` hook, so no
    copy of the value is made) and are unquoted after: YAML cannot carry the NUL
    marker, so no record text can forge one.
    """
    text = json.dumps(value, ensure_ascii=False, indent=indent, default=_mark_decimal)
    return _MARKED.sub(_unquote, text) if "\\u0000" in text else text


def form_json(form) -> str:
    """One checked form as ``check --format json`` prints it (made in a worker process at scale)."""
    return dumps(form_to_dict(form))


def check_document(forms: Iterable[str], content: list[dict]) -> Iterator[str]:
    """``dumps({"forms": [...], "content": content})`` in pieces, from forms already made one
    by one (:func:`form_json`): the same text, without holding every form at once."""
    yield '{\n  "forms": ['
    first = True
    for text in forms:
        yield ("\n    " if first else ",\n    ") + text.replace("\n", "\n    ")
        first = False
    yield ("]" if first else "\n  ]") + f',\n  "content": {dumps(content).replace(chr(10), chr(10) + "  ")}\n}}'


_MARKED = re.compile(r'"\\u0000(-?[0-9.E+-]+)\\u0000"')
_unquote = operator.itemgetter(1)  # a C callable: a replacement template is expanded in Python per match


def _mark_decimal(value: object) -> str:
    if isinstance(value, Decimal):
        return f"\0{value:f}\0"
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
