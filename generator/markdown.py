"""Narratives (职能概述, 年度目标) from Markdown to safe HTML.

Record text is untrusted: raw HTML is off (it shows as text), and links may only be
http(s), mailto or relative — ``javascript:``, ``data:`` and friends are dropped.
"""

from __future__ import annotations

import re
from functools import lru_cache

from markdown_it import MarkdownIt

_SAFE_LINK = re.compile(r"(https?:|mailto:|#|/|\./|\.\./|[^:/?#]+(?:[/?#]|$))", re.IGNORECASE)


def _validate_link(url: str) -> bool:
    return bool(_SAFE_LINK.match(url.strip()))


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")  # records carry no images; an image link could track readers
    md.validateLink = _validate_link
    return md


def render_markdown(text: str) -> str:
    """Markdown text to an HTML fragment; empty text gives an empty string."""
    if not text.strip():
        return ""
    return _parser().render(text)
