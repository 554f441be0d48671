"""Render pages to text: the Jinja helpers, the assets, and the section cache.

Nothing here touches the output folder: the engines (:mod:`generator.build.shards`,
:mod:`generator.serve.preview`, :mod:`generator.serve.state`) decide where the text goes.
"""

from __future__ import annotations

import gc
import hashlib
import os
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup, escape

from ..read.records import department_of
from ..score.scoring import Interval
from .charts import PLOT_CONFIG, Chart
from .export import dumps
from .sitemodel import Page, report_url
from .theme import Theme, get_template, static_sources, template_error

Files = dict[str, bytes]


def plotly_js() -> bytes:
    """plotly.min.js from the installed plotly package: no CDN, no network."""
    import plotly

    return (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()


def hashed_name(name: str, data: bytes) -> str:
    stem, dot, ext = name.partition(".")
    return f"{stem}.{hashlib.sha256(data).hexdigest()[:12]}{dot}{ext}"


def static_files(theme: Theme) -> Files:
    """Theme then override static files under ``assets/``; later folders win."""
    return {"assets/" + rel: data for rel, data in static_sources(theme).items()}


def script_json(value: object) -> Markup:
    """JSON that is safe inside <script>: no ``</script>``, ``<!--`` or line separators."""
    text = dumps(value, indent=None)
    for raw, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return Markup(text)


def format_number(value: Decimal | int | None) -> str:
    if value is None:
        return "—"
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def plain_number(value: Decimal | int | None) -> str:
    """10.00 -> 10 and 7.50 -> 7.5, for weights and amounts as officials write them."""
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


def chart_payload(chart: Chart) -> Markup:
    return script_json({"figure": chart.figure, "config": PLOT_CONFIG})


def asset_files(theme: Theme) -> tuple[dict[str, str], Files]:
    """The theme's static files and the bundled plotly.js, and the URL of each by name."""
    files = static_files(theme)
    plotly = plotly_js()
    assets = {name.removeprefix("assets/"): name for name in files}
    assets["plotly.js"] = "assets/" + hashed_name("plotly.min.js", plotly)
    files[assets["plotly.js"]] = plotly
    return assets, files


class Sections:
    """``cached(name, objects, fn, *args)`` in templates: sections of the every-form pages
    (a year's row of one form, a department's quality group), made once and reused.

    A section is known by its name and the record files of the forms it shows. ``known``
    holds the sections still valid — the engine leaves out those of departments that
    changed (:meth:`still_valid`) — and a known section is not rendered again: a placeholder
    goes where it belongs and :meth:`pieces` streams the page with the section's bytes
    spliced in, so a page listing every finding is never held in memory whole. ``made``
    collects the sections rendered this time. Sections over no form, or over objects
    without a record file, are never kept.
    """

    def __init__(self, known: dict[tuple, bytes] | None = None):
        self.known = known or {}
        self.made: dict[tuple, bytes] = {}
        self.spliced: set[tuple] = set()
        self._token = f"\x00perfsite-section-{os.urandom(8).hex()}:"
        self._used: list[tuple] = []

    def __call__(self, name: str, objects, fn, *args):
        key = section_key(name, objects)
        if key is not None and key in self.known:
            self.spliced.add(key)
            self._used.append(key)
            return Markup(f"{self._token}{len(self._used) - 1}\x00")
        value = fn(*args)
        if key is not None:
            self.made[key] = str(value).encode("utf-8")
        return value

    def pieces(self, page: str):
        """The page's bytes with every placeholder replaced by its section."""
        first, *rest = page.split(self._token)
        yield first.encode("utf-8")
        for piece in rest:
            index, _, text = piece.partition("\x00")
            yield self.known[self._used[int(index)]]
            yield text.encode("utf-8")
        self._used.clear()

    def kept(self) -> dict[tuple, bytes]:
        """The sections this pass used or made: what the next pass may know."""
        return {**{key: self.known[key] for key in self.spliced}, **self.made}

    @staticmethod
    def still_valid(sections: dict[tuple, bytes], present: set[str], changed: set[str]) -> dict[tuple, bytes]:
        """The sections whose forms all belong to departments still ``present`` and not ``changed``."""
        return {key: data for key, data in sections.items()
                if (found := _departments_of(key[1])) <= present and found.isdisjoint(changed)}


@lru_cache(maxsize=1 << 18)
def _departments_of(sources: tuple[str, ...]) -> frozenset:
    """The departments a section's record files belong to (None for a file outside them),
    worked out once for the tens of thousands of sections a province's site keeps."""
    return frozenset(department_of(src) for src in sources)


def section_key(name: str, objects) -> tuple | None:
    sources = []
    for obj in objects:
        source = getattr(getattr(obj, "report", obj), "src_path", "")
        if not source:
            return None
        sources.append(source)
    return (name, tuple(sources)) if sources else None


def is_numeric(value: object) -> bool:
    """Jinja's ``number`` test goes through the ABC machinery (slow for Decimal); this does not."""
    return type(value) in (Decimal, int, float)


def cell_helpers(strings: dict[str, str]):
    """``both`` and ``cell``: the two helpers the form table calls for every cell."""
    computed_label, differs = escape(strings["computed"]), escape(strings["computed_differs"])
    open_range = escape(strings["computed_range"])
    illegible = Markup(f'<span class="illegible">{escape(strings["illegible"])}</span>')
    no_value = escape(format_number(None))

    def both(reported, computed, suffix: str = "") -> Markup:
        """The reported value as the form printed it, the recomputed one beside it where they differ."""
        if reported is None:  # the form prints nothing here: the number shown is ours, and says so
            if computed is None:
                return no_value
            return Markup(f'<span class="recomputed-only">{computed_label} '
                          f"{escape(format_number(computed) + suffix)}</span>")
        text = escape(plain_number(reported) + suffix)
        if isinstance(computed, Interval) and reported in computed:  # cannot be confirmed, nor called wrong
            return Markup(f'{text} <span class="recomputed-range" title="{open_range}">{computed_label} '
                          f"{escape(format_number(computed) + suffix)}</span>")
        if computed is not None and reported != computed:
            return Markup(f'{text} <span class="recomputed" title="{differs}">{computed_label} '
                          f"{escape(format_number(computed) + suffix)}</span>")
        return text

    def cell(row, name: str, value) -> Markup:
        return illegible if name in row.indicator.illegible else escape(value)

    return both, cell


def indicator_cells_helper(strings: dict[str, str], both):
    """``indicator_cells(row)``: one call per indicator row instead of a call or a branch per cell,
    the most repeated part of a form page."""
    illegible = Markup(f'<span class="illegible">{escape(strings["illegible"])}</span>')
    not_transcribed = Markup(f'<span class="illegible untranscribed">{escape(strings["not_transcribed"])}</span>')
    not_applicable = escape(strings["not_applicable"])
    band_open = Markup('<span class="band">{}{}{}{} ').format(
        strings["lparen"], strings["qualitative"], strings["comma"], strings["band"])
    band_close = Markup("{}</span>").format(strings["rparen"])
    empty = Markup("")
    yes, no = escape(strings["answer_yes"]), escape(strings["answer_no"])
    base_open = Markup('<span class="base">{}{}{}').format(strings["lparen"], strings["base"], strings["colon"])
    base_close = Markup("{}</span>").format(strings["rparen"])

    def indicator_cells(row) -> dict[str, Markup]:
        r = row.result
        ind = r.indicator
        unreadable = ind.illegible
        if "score" in unreadable:
            score = not_transcribed if "score" in ind.untranscribed else illegible
        elif r.kind == "not_applicable":
            score = not_applicable
        elif r.kind == "empty":
            score = escape(plain_number(ind.score)) if ind.score is not None else empty
        else:
            score = both(ind.score, r.score)
            if r.kind == "qualitative" and r.band:
                score += (band_open + escape(plain_number(r.band[0])) + "–" + escape(plain_number(r.band[1]))
                          + band_close)
        cells = {
            "level3": escape(ind.level3), "content": escape(ind.content), "nature": escape(ind.nature),
            "target": escape(ind.target.text if ind.target else ""),
            "unit": escape(ind.unit), "actual": escape(ind.actual.text if ind.actual else ""),
            "weight": escape(plain_number(ind.weight)), "coefficient": escape(plain_number(ind.coefficient)),
            "score": score, "core": empty if ind.core is None else yes if ind.core else no,
            "reason": escape(ind.reason), "measures": escape(ind.measures), "note": escape(ind.note),
        }
        if ind.base is not None:  # what a relative target (提升10%) is measured from, as the record gives it
            cells["target"] += base_open + escape(ind.base.text) + base_close
        for name in unreadable:
            if name != "score":
                cells[name] = not_transcribed if name in ind.untranscribed else illegible
        return cells

    return indicator_cells


def configure_env(theme: Theme, files: Files) -> None:
    """Filters and helpers every template may use. ``cached`` renders a section as it is;
    engines that reuse sections pass a :class:`Sections` as ``cached`` in the page context."""
    both, cell = cell_helpers(theme.strings)
    theme.env.globals.update(both=both, cell=cell, indicator_cells=indicator_cells_helper(theme.strings, both),
                             form_link=report_url)
    theme.env.filters.update(num=format_number, plain=plain_number)
    theme.env.tests.update(numeric=is_numeric)
    theme.env.globals.update(chart_payload=chart_payload,
                             inline_asset=lambda name: Markup(files["assets/" + name].decode("utf-8")),
                             cached=lambda _name, _objects, fn, *args: fn(*args))


def render_page(theme: Theme, page: Page, common: dict, context: dict | None = None) -> str:
    """``context``: the page's own, when the engine already made it."""
    template = get_template(theme, page.template)
    with collection_paused():
        context = {**common, "page": page, "root": page.root, **(page.context if context is None else context)}
        try:
            return template.render(**context)
        except Exception as exc:  # any error raised inside a template is the template's, located
            raise template_error(exc, page.template) from None


@contextmanager
def collection_paused():
    """No cyclic garbage collection while one page is made.

    Every escaped piece of a page is a GC-tracked Markup kept alive until the page is joined,
    and a page's context can hold as many new tuples and lists (the quality page: one per
    finding of the site), so a big page sets off full collections, each walking every object
    of the site (~0.3 s at 10,000 forms) and finding no garbage. Cycles a page leaves are
    collected after it, as before.
    """
    if not gc.isenabled():  # someone else's choice (or another page rendering): leave it so
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
