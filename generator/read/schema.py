"""The record formats, written once as JSON Schema.

The same dictionaries are published by ``perfsite schema`` (for editors, with Chinese
titles) and checked by :mod:`generator.read.validate`, so the documentation and the
checks cannot drift apart.
"""

from __future__ import annotations

LEVEL1 = ["产出指标", "效益指标", "满意度指标", "成本指标"]
LEVEL2_BY_LEVEL1 = {
    "产出指标": ["数量指标", "质量指标", "时效指标", "成本指标"],
    "效益指标": ["经济效益指标", "社会效益指标", "生态效益指标", "可持续影响指标"],
    "满意度指标": ["服务对象满意度指标"],
    "成本指标": ["经济成本指标", "社会成本指标", "生态环境成本指标"],
}
LEVEL2 = [name for names in LEVEL2_BY_LEVEL1.values() for name in names]
MONEY_UNITS = ["万元", "元", "亿元"]
INDICATOR_FIELDS = ["level2", "level3", "content", "nature", "target", "unit", "actual", "weight", "coefficient",
                    "score", "reason", "measures"]
FUND_FIELDS = ["initial_budget", "budget", "executed", "transfer", "rate", "score"]
REPORTED_FUND_FIELDS = ["initial_budget", "budget", "executed", "transfer", "rate", "score"]
PARTS = ["funds", "goals", "indicators", "scores", "total", "other"]
NATURES = ["=", "≥", "≤", ">", "<", "定性", "正向", "反向"]


def _text(title: str, description: str = "", **extra) -> dict:
    return {"type": "string", "title": title, "description": description, **extra}


MAX_AMOUNT = 10**15
MAX_PLACES = 6


def _number(title: str, description: str = "", minimum: int | None = 0, maximum: int = MAX_AMOUNT) -> dict:
    schema = {"type": "number", "title": title, "description": description, "maximum": maximum}
    if minimum is not None:
        schema["minimum"] = minimum
    return schema


def _illegible(title: str, fields: list[str]) -> dict:
    return {
        "type": "array", "title": title, "uniqueItems": True,
        "description": "原表中无法辨认的栏目：不要猜测，列在这里，审核会注明。",
        "items": {"type": "string", "enum": fields},
    }


def _untranscribed_cells(fields: list[str]) -> dict:
    return {
        "type": "array", "title": "未转录的栏目", "uniqueItems": True,
        "description": "所存资料（摘录、副本）中没有、因而未转录的栏目：原表上可能有，只是无从得知；"
                       "按未知处理，页面注明“未转录”（不是“原表无法辨认”）。",
        "items": {"type": "string", "enum": fields},
    }


DEPARTMENT_SCHEMA = {
    "title": "部门信息（department.yaml）",
    "description": "每个部门（单位）文件夹里的 department.yaml。",
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": _text("部门（单位）名称", "与自评表上的名称一致。", minLength=1),
        "region": _text("所属地区", "例如：湖南省长沙市望城区。"),
        "code": _text("部门编码", "预算单位编码；按文本保存，前导零不会丢失。"),
        "fictional": {"type": "boolean", "title": "虚构示例",
                      "description": "true 表示本部门的数据是虚构的演示数据，页面会醒目标注。"},
        "note": _text("备注"),
    },
}

SOURCE_SCHEMA = {
    "type": "object",
    "title": "资金来源",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": _text("资金来源名称", "例如：财政拨款、其他资金。", minLength=1),
        "initial_budget": _number("年初预算数"),
        "budget": _number("全年预算数（A）"),
        "executed": _number("全年执行数（B）"),
        "transfer": _number("上级财政转移支付（C）"),
        "rate": _number("执行率（%，原表该行所印）", minimum=None),
        "score": _number("得分（原表该行所印）", maximum=100),
        "illegible": _illegible("无法辨认的栏目", FUND_FIELDS),
        "untranscribed": _untranscribed_cells(FUND_FIELDS),
    },
}

INDICATOR_SCHEMA = {
    "type": "object",
    "title": "绩效指标",
    "additionalProperties": False,
    "required": ["level1"],
    "properties": {
        "level1": _text("一级指标", "按本表表样（layout）的一级指标名称，例如 产出指标。", minLength=1),
        "level2": _text("二级指标", "须属于其一级指标（见表样）；原表无法辨认时列入 illegible。", minLength=1),
        "level3": _text("三级指标", "本表中通常是支出项目名称，例如：科普项目支出。"),
        "content": _text("目标内容", "衡量什么，例如：科普服务人数。空行（只有一、二级）可省略。"),
        "target": {"type": ["string", "number"], "title": "目标值",
                   "description": "按原表书写，例如 12000人次、≥90%、不少于800篇、良好以上。"},
        "actual": {"type": ["string", "number"], "title": "完成值", "description": "按原表书写。"},
        "base": {"type": ["string", "number"], "title": "基数",
                 "description": "相对目标（提升10%、下降5个百分点）的比较基数，例如上年完成值 85%；"
                                "不填时相对目标只按定性指标核对，系统不会自行假设基数。"},
        "nature": {"type": "string", "title": "指标性质", "enum": NATURES,
                   "description": "原表单列的指标性质：=、≥、≤、>、<（与目标值合起来读），或 定性、正向、反向。"},
        "unit": _text("度量单位", "原表单列的度量单位，例如 %、元、人次；目标值、完成值只写数字时按此单位读。"),
        "weight": _number("分值", "该指标的满分。", maximum=100),
        "coefficient": _number("得分系数（%）", "重庆等表样：得分 = 得分系数 × 分值 ÷ 100。", maximum=100),
        "core": {"type": "boolean", "title": "是否核心指标"},
        "score": _number("得分（填报）", "部门填报的得分；系统会重新计算并核对。", maximum=100),
        "reason": _text("未完成原因", "全国项目表样的“偏差原因分析及改进措施”也写在这里。"),
        "measures": _text("改进措施"),
        "direction": {"type": "string", "title": "指标方向", "enum": ["higher", "lower"],
                      "description": "higher：越高越好；lower：越低越好（成本类）。缺省时按评分规则判断。"},
        "assessment": {"type": "string", "title": "定性评价档次",
                       "enum": ["achieved", "partial", "missed"],
                       "description": "定性指标的档次：achieved 达成、partial 部分达成、missed 未达成。"},
        "applicable": {"type": "boolean", "title": "是否适用",
                       "description": "false 表示不适用；评分规则决定剔除后是否按比例折算。"},
        "illegible": _illegible("无法辨认的栏目", INDICATOR_FIELDS),
        "untranscribed": _untranscribed_cells(INDICATOR_FIELDS),
        "note": _text("备注"),
    },
}

REPORT_SCHEMA = {
    "title": "部门整体支出绩效自评表（<年度>.yaml）",
    "description": "一个部门一年的自评表。文件名必须是年度，例如 2021.yaml。",
    "type": "object",
    "additionalProperties": False,
    "required": ["year", "funds"],
    "properties": {
        "year": {"type": "integer", "title": "年度", "minimum": 1990, "maximum": 2100},
        "form": {"type": "string", "title": "表样", "enum": ["department", "project"],
                 "description": "department：部门整体支出绩效自评表；project：项目支出绩效自评表。"},
        "project": _text("项目名称", "项目支出绩效自评表的项目名称。"),
        "project_code": _text("项目编码", "按文本保存，前导零不会丢失。"),
        "authority": _text("主管部门"),
        "implementer": _text("实施单位"),
        "layout": _text("表样", "随软件提供的表样名称（perfsite profiles 列出）；缺省用 site.yaml 的 layouts。"),
        "profile": _text("评分规则", "随软件提供的评分规则名称（perfsite profiles 列出）；"
                         "缺省用 site.yaml 的 profile。"),
        "units": {"type": "integer", "title": "所属独立核算单位个数", "minimum": 0},
        "money_unit": {"type": "string", "title": "金额单位", "enum": MONEY_UNITS},
        "funds": {
            "type": "object",
            "title": "资金情况",
            "additionalProperties": False,
            "properties": {
                "weight": _number("执行率分值", "缺省时用评分规则的执行率分值。", maximum=100),
                "sources": {"type": "array", "title": "资金来源", "minItems": 1,
                            "description": "不写时按“年度资金总额”行（reported）核算。",
                            "items": SOURCE_SCHEMA},
                "reported": {
                    "type": "object",
                    "title": "年度资金总额（原表所填）",
                    "additionalProperties": False,
                    "properties": {
                        "initial_budget": _number("年初预算数"),
                        "budget": _number("全年预算数（A）"),
                        "executed": _number("全年执行数（B）"),
                        "transfer": _number("上级财政转移支付（C）"),
                        "rate": _number("执行率（%）", minimum=None),
                        "score": _number("得分", maximum=100),
                        "illegible": _illegible("无法辨认的栏目", REPORTED_FUND_FIELDS),
                        "untranscribed": _untranscribed_cells(REPORTED_FUND_FIELDS),
                    },
                },
            },
        },
        "functions": _text("部门职能概述", "Markdown 文本。"),
        "goals": {
            "type": "object",
            "title": "年度总体目标",
            "additionalProperties": False,
            "properties": {
                "planned": _text("年初设定目标", "Markdown 文本。"),
                "achieved": _text("目标完成情况", "Markdown 文本。"),
            },
        },
        "indicators": {"type": "array", "title": "年度绩效指标", "items": INDICATOR_SCHEMA},
        "reported": {
            "type": "object",
            "title": "原表总分",
            "additionalProperties": False,
            "properties": {
                "total": _number("总分", maximum=100),
                "grade": {"type": "string", "title": "等级", "enum": ["优", "良", "中", "差"]},
            },
        },
        "published": _text("公开日期", "YYYY-MM-DD；用于订阅源，缺省为次年 1 月 1 日。",
                           pattern=r"^\d{4}-\d{2}-\d{2}$", **{"x-expected": "a date written YYYY-MM-DD"}),
        "source": _text("来源", "原始文件的说明，例如公开网址或文件名。"),
        "source_url": _text("原始文件网址", "公开的原始文件（网页、PDF 或扫描件）的完整网址；表页在转录旁链接到它。",
                            pattern=r"^https?://[^\s<>\"']+$",
                            **{"x-expected": "a full web address starting with http:// or https://"}),
        "notes": _text("转录说明", "转录时的说明，例如哪些栏目无法辨认。"),
        "untranscribed": {
            "type": "array", "title": "未转录的部分（部分转录）",
            "description": "原件中没有转录的部分，例如保存的副本缺页。相关的数字按未知处理，不按 0 计。",
            "items": {"type": "object", "additionalProperties": False, "required": ["part"],
                      "properties": {"part": {"type": "string", "title": "部分", "enum": PARTS,
                                              "description": "funds 资金、goals 目标、indicators 指标行、"
                                                             "scores 得分、total 总分、other 其他。"},
                                     "note": _text("说明", "例如：存档副本缺第 2 页。")}},
        },
    },
}


def json_schema(schema: dict, schema_id: str) -> dict:
    """The schema as a standalone JSON Schema document, for editors.

    An empty optional value (``score:``) means "not given" to the reader, so the published
    schema lets optional properties be null too; otherwise editors would underline what
    ``perfsite check`` accepts.
    """
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": schema_id, **_nullable(schema)}


def _nullable(schema: dict) -> dict:
    out = dict(schema)
    if "items" in out:
        out["items"] = _nullable(out["items"])
    if "properties" in out:
        required = set(out.get("required", []))
        properties = {}
        for key, sub in out["properties"].items():
            sub = _nullable(sub)
            if key not in required and not out.get("x-no-null") and "type" in sub:
                types = sub["type"] if isinstance(sub["type"], list) else [sub["type"]]
                sub = {**sub, "type": types + ["null"]}
                if "enum" in sub:
                    sub["enum"] = list(sub["enum"]) + [None]
            properties[key] = sub
        out["properties"] = properties
    return out
