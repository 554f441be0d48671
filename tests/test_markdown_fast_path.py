"""The narrative shortcut in generator/site/markdown.py gives exactly markdown-it's HTML, or stands aside."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from generator.site.markdown import _parser, _plain_html, render_markdown

PIECES = st.sampled_from([
    "加强预算管理", "提升服务质量", "2021", "年度", "，", "。", "；", "：", "、", "（", "）", "“", "”",
    " ", "  ", "\u3000", "\xa0", "\t", "\n", "\n\n", "1. ", "2. ", "10. ", "1) ", "- ", "* ", "# ", "> ",
    "**", "_", "`", "<b>", "&amp;", "&", "<", ">", "\\", "[链接](http://x)", "abc", "A.", "1.", "\r", "\u200b",
])


@settings(max_examples=3000, derandomize=True, deadline=None, database=None)
@given(st.lists(PIECES, max_size=14).map("".join))
@example("围绕年度重点工作任务，加强预算管理。\n\n提升公共服务质量。")
@example("1. 完成科普活动\n2. 开展培训\n3. 群众满意度提升")
@example("3. 从三开始\n4. 接着")
@example("第一段\n同一段的第二行\n\n第二段")
def test_shortcut_equals_the_parser_or_declines(text: str):
    fast = _plain_html(text) if text.strip() else None
    if fast is not None:
        assert fast == _parser().render(text), repr(text)
    assert render_markdown(text) == (_parser().render(text) if text.strip() else "")


def test_shortcut_takes_the_common_narratives():
    for text in ("围绕年度重点工作任务，加强预算管理。\n\n提升公共服务质量。", "1. 完成科普活动\n2. 开展培训"):
        assert _plain_html(text) is not None, text
