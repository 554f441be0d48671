"""Writing workbooks: the blank template and the export of every record, byte for byte stable.

``perfsite template`` writes a blank fill-in workbook and ``perfsite export`` every record as
one filled workbook (``<out>/<slug>/<year>.xlsx`` or ``<year>-<project>.xlsx``, the same layout as
``content/departments``).
Each workbook holds the form sheet (:mod:`generator.excel.formsheet`) and the sheet 说明 on
how to fill it in. The same input gives the same bytes (fixed timestamps, zip entries
included), and every file is written whole or not at all (:func:`write_atomic`, which
import uses for its YAML too).
"""

from __future__ import annotations

import datetime
import io
import math
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError, ContentError, Location, Problem
from ..files import write_atomic
from ..read.layouts import DEFAULT_LAYOUTS, available_layouts, shipped_layout
from ..read.records import read_content
from ..read.yamlsource import KeyPath, format_path, read_yaml
from .formsheet import FormData, SheetWriter
from .layout import HELP_SHEET, ILLEGIBLE, SHEET, TITLE, template_rows

FIXED_TIME = datetime.datetime(2020, 1, 1)  # workbook properties: same input, same bytes
EXCEL_CELL_CHARS = 32767


def write_template(path: Path, *, layout: str | None = None, overwrite: bool = False) -> None:
    """A blank fill-in workbook for a form of ``layout`` (a shipped layout name; default: the
    national department form): the 自评表 sheet with drop-down lists, and the 说明 sheet.

    The layout's funds rows, columns with its words and 一级/二级 names make the sheet; a
    layout given by name is written into the 表样 cell (left empty, the site's default layout
    for the form kind applies). A folder is never replaced, an existing file only with
    ``overwrite`` (``perfsite template content/site.yaml`` is a slip, not a wish). A name ending
    in a slash names a folder.
    """
    if layout is not None and layout not in available_layouts():
        raise ConfigError(f"unknown layout {layout!r}: choose one of {', '.join(available_layouts())}")
    if str(path).endswith(("/", os.sep)) or Path(path).is_dir():
        raise ConfigError(f"{Path(path)} is a folder: name the workbook to write, e.g. {Path(path) / 'template.xlsx'}")
    path = Path(path)
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise ConfigError(f"{path} already exists: perfsite template --overwrite replaces it")
    chosen = shipped_layout(layout or DEFAULT_LAYOUTS["department"])
    report = {"form": chosen.form, **({"layout": layout} if layout else {}), "money_unit": "万元",
              "funds": {"sources": [{"name": name} for name in chosen.fund_rows]},
              "indicators": template_rows(chosen)}
    form = FormData(slug="", department={}, report=report, layout=chosen,
                    blank_sources=2, blank_indicators=30, blank_untranscribed=3)
    _save(_workbook([form]), path)


def export_records(project_dir: Path, out_dir: Path, *, overwrite: bool = False) -> list[Path]:
    """Every form of the project as ``out_dir/<slug>/<year>.xlsx`` (a project form:
    ``<year>-<project>.xlsx``, like its record); returns the files written.

    Without ``overwrite`` (the CLI's ``--overwrite``) nothing is written if a workbook to write
    exists already: it may hold a department's edits.
    """
    from ..read.config import load_config

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir} is a file, not a folder: export -o takes the folder to write the workbooks into")
    config = load_config(project_dir)
    content = read_content(config)
    departments: dict[str, dict] = {}
    forms: list[FormData] = []
    problems: list[Problem] = []
    for report in content.reports:
        slug = report.department.slug
        if slug not in departments:
            doc, found = read_yaml(config.departments_dir / slug / "department.yaml",
                                   f"content/departments/{slug}/department.yaml")
            if found:  # pragma: no cover - read_content has just read it
                raise ContentError(found)
            departments[slug] = doc.data
        forms.append(FormData(slug=slug, department=departments[slug], report=report.doc.data,
                              layout=report.layout, project_id=report.project_id))
        _too_long(report.doc.data, (), report.where, problems)
    for slug, data in departments.items():
        rel = f"content/departments/{slug}/department.yaml"
        _too_long(data, (), lambda path, rel=rel: Location(rel), problems)
    if problems:
        raise ContentError(problems)
    targets = [out_dir / form.slug / f"{form_stem(form.report['year'], form.project_id)}.xlsx" for form in forms]
    for target in targets:
        if target.is_dir():
            raise ConfigError(f"{target} is a folder, not a workbook: move it away to export")
    existing = [target for target in targets if target.exists() or target.is_symlink()]
    if existing and not overwrite:
        more = len(existing) - 1
        raise ConfigError(f"{existing[0]} already exists"
                          + (f" (and {more} more workbook{'s' if more != 1 else ''})" if more else "")
                          + f": perfsite export --overwrite replaces {'them' if more else 'it'}")
    for form, target in zip(forms, targets, strict=True):
        _save(_workbook([form]), target)
    return targets


def form_stem(year: int, project_id: str = "") -> str:
    """A form's file name without its suffix: ``2021`` or ``2021-<project>``, as in content/departments."""
    return f"{year}-{project_id}" if project_id else str(year)


def _too_long(value: object, path: KeyPath, where: Callable[[KeyPath], Location], out: list[Problem]) -> None:
    """Texts an Excel cell cannot hold (checked before any file is written)."""
    if isinstance(value, dict):
        for key, item in value.items():
            _too_long(item, path + (key,), where, out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _too_long(item, path + (index,), where, out)
    elif isinstance(value, str) and len(value.rstrip("\n")) > EXCEL_CELL_CHARS:
        out.append(Problem(where(path), format_path(path), f"too long for one Excel cell: {len(value)} "
                           f"characters, limit {EXCEL_CELL_CHARS}", "shorten it, or keep this form in YAML"))


def _workbook(forms: list[FormData]):
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for index, form in enumerate(forms):
        sheet = book.create_sheet(SHEET if index == 0 else f"{SHEET}{index + 1}")
        SheetWriter(sheet, form).write()
    _write_help(book.create_sheet(HELP_SHEET), forms[0])
    book.active = 0
    props = book.properties
    props.creator, props.lastModifiedBy = "perfsite", None
    props.created = props.modified = FIXED_TIME
    props.title = TITLE.get(forms[0].kind, TITLE["department"])
    return book


def help_rows(form: FormData) -> list[tuple[str, str]]:
    """The 说明 sheet for a form of ``form.layout``: what each cell takes."""
    layout = form.layout
    levels = "；".join(f"{k}：{'、'.join(v) if v else '（不限定，照原表填写）'}" for k, v in layout.levels.items())
    total = layout.total_row
    order = ("年度资金总额一行在来源各行之前（第一个来源写作“其中：…”）" if layout.form == "project"
             else f"{total}一行在来源各行之后")
    return [
        ("用途", f"本工作簿用于填写《{layout.title}》（表样 {layout.name}），"
               "填好后由 perfsite import 导入为 YAML 记录。一个工作表“自评表”是一张表；"
               "同一工作簿可以有多张表，工作表名称以“自评表”开头即可。"),
        ("版式", "不要改动蓝色表头和灰色标签的文字：导入时按这些文字查找各栏。表格中间可以插入行；全空的行会被忽略。"
               "不要把表格拆开或移动列的顺序。"),
        ("部门(单位)名称", "必填，与自评表上的名称一致。"),
        ("部门标识(slug)", "必填，部门文件夹名：小写字母、数字和连字符，例如 wangcheng-kexie。"
                         "导入写入 content/departments/<部门标识>/<年度>.yaml。"),
        ("年度", "必填，四位数字，例如 2021。"),
        ("所属独立核算单位个数", "整数。"),
        ("金额单位", "从下拉列表选择：万元、元、亿元。全表金额都用这个单位。"),
        ("表的种类", "部门整体支出 或 项目支出。"),
        ("表样", "本表的表样名称（perfsite profiles 列出全部表样）：决定一、二级指标名称和各栏目。"
               "留空时按网站 site.yaml 的 layouts 设定（通常是全国通用表样）。"),
        ("评分规则", "可选，本表使用的评分规则名称（perfsite profiles 列出）；留空按网站的 profile。"),
        ("项目支出表", "项目名称、项目编码、主管部门、实施单位照原表填写；项目编码按文本保存，前导零不会丢失。"),
        ("项目标识", "项目支出表必填：记录的文件名，小写字母、数字和连字符，例如 keji-puji 或项目编码的小写形式；"
                   "导入写入 content/departments/<部门标识>/<年度>-<项目标识>.yaml。"
                   "同一部门同一年度的项目标识不能重复。"),
        ("部门编码", "预算单位编码，按文本保存，前导零不会丢失（单元格已设为文本格式）。"),
        ("虚构示例", "“是”表示演示数据，网站会醒目标注；真实数据留空或选“否”。"),
        ("公开日期", "文本 YYYY-MM-DD，例如 2022-03-31；留空时按次年 1 月 1 日。"),
        ("资金来源", f"每个资金来源一行（{'、'.join(layout.fund_rows) or '财政拨款、其他资金'}等）；"
                 "没有金额的来源行会被忽略。"
                 f"{order}，照原表填写合计数、执行率分值、执行率和得分；来源行印有执行率、得分的也照填。"
                 "原表只印年度资金总额一行时，来源行可以不填。这里不用公式：系统会重新计算并核对原表数字。"),
        ("执行率(%)", "填百分数的数值，例如 118.65 表示 118.65%。"),
        ("部门职能概述、年度总体目标", "照原文填写，可以多行（Alt+Enter 换行），编号如“1.”保持原样。"),
        ("一级指标、二级指标", "从下拉列表选择；二级指标必须属于它的一级指标：" + levels + "。"
                          "二级指标无法辨认时填写 " + ILLEGIBLE + "。"),
        ("空行", "原表印出的只有一、二级指标而没有内容的行，保留一、二级指标即可（分值、得分可填 0）；"
               "用不到的预置行可以删除。"),
        ("目标值、完成值", "照原表书写，例如 12000人次、≥90%、不少于800篇、良好以上（单元格为文本格式）。"),
        ("指标性质、度量单位", "原表单列印出的指标性质（=、≥、≤、>、<、定性、正向、反向，从下拉列表选择）和度量单位"
                          "（例如 %、人次）照填；目标值、完成值只写数字时按这两栏读。"),
        ("分值、得分", "数字；得分为部门填报的得分，系统会按评分规则重新计算并核对。"),
        ("得分系数(%)、是否核心指标", "原表印有时照填：得分 = 得分系数 × 分值 ÷ 100；是否核心指标选“是”或“否”。"),
        ("指标方向", "可选：越高越好 / 越低越好（成本类指标）；留空按评分规则判断。"),
        ("定性评价", "可选，定性指标的档次：达成 / 部分达成 / 未达成。"),
        ("是否适用", "可选：“否”表示该指标不适用。"),
        ("无法辨认", f"转录纸质或扫描件时，无法辨认的金额（包括{total}一行）或指标栏目填写 {ILLEGIBLE}，不要猜测；"
                 "审核会注明。"),
        ("数字", "数字按单元格显示的样子读取：0.00 格式里的 363.8 读作 363.80；百分比格式按显示的百分数读取。"
               "也可以在文本格式的单元格里填写数字，按文字原样读取。不要填写单位、逗号以外的文字。"),
        ("总分、等级", "照原表填写；等级从下拉列表选择：优、良、中、差。"),
        ("来源、转录说明", "来源：原始文件的说明（公开网址或文件名）。转录说明：转录时的说明，例如哪些栏目无法辨认。"),
        ("未转录的部分", "原件中没有转录的部分（例如保存的副本缺页）每部分一行：从下拉列表选择资金情况、年度总体目标、"
                     "绩效指标、得分、总分或其他，说明栏写明原因。相关的数字按未知处理，不按 0 计。"),
        ("导入", "perfsite import 文件.xlsx …：检查全部内容后一次报告所有问题，位置写作 文件.xlsx!自评表!C12；"
               "没有问题才写入。已有的记录只有加 --overwrite 才会被替换。"),
    ]


def _write_help(ws, form: FormData) -> None:
    from openpyxl.styles import Alignment, Font

    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 100
    ws.cell(1, 1, f"如何填写《{form.layout.title}》").font = Font(bold=True, size=14)
    for index, (topic, text) in enumerate(help_rows(form), start=3):
        ws.cell(index, 1, topic).font = Font(bold=True)
        cell = ws.cell(index, 2, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[index].height = 15 * math.ceil(len(text) * 2.1 / 100) + 6


def _save(book, path: Path) -> None:
    """Write the workbook with fixed timestamps (zip entries included): same input, same bytes."""
    from openpyxl.writer.excel import ExcelWriter

    raw = io.BytesIO()
    ExcelWriter(book, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, source.read(info.filename))
    try:
        write_atomic(Path(path), out.getvalue())
    except OSError as exc:  # a full disk, a read-only folder, a file where a folder should be
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
