"""sitemap.xml, feed.xml (Atom) and robots.txt, with dates from the data, never the clock."""

from __future__ import annotations

import heapq
from itertools import islice
from operator import attrgetter
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from ..score.check import CheckedSite
from .sitemodel import Page, form_title, report_url


def _absolute(base_url: str, path: str) -> str:
    path = path.removesuffix("index.html")
    return f"{base_url}/{path}" if base_url else path


SITEMAP_URLS = 10_000  # per sitemap file: under 1 MB, far below the protocol's 50,000 and 50 MB
FEED_ENTRIES = 200     # the newest forms: a feed says what is new, the year pages list everything
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def sitemap_files(pages: list[Page], base_url: str) -> dict[str, bytes]:
    """``sitemap.xml`` listing every page; past :data:`SITEMAP_URLS` pages it is a sitemap index
    of ``sitemap-1.xml``, ``sitemap-2.xml``, … (robots.txt names ``sitemap.xml`` either way)."""
    locs = [escape(_absolute(base_url, p.dest_path)) for p in sorted(pages, key=lambda p: p.dest_path)
            if p.in_sitemap]
    if len(locs) <= SITEMAP_URLS:
        return {"sitemap.xml": _urlset(locs)}
    files = {f"sitemap-{i // SITEMAP_URLS + 1}.xml": _urlset(locs[i:i + SITEMAP_URLS])
             for i in range(0, len(locs), SITEMAP_URLS)}
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<sitemapindex xmlns="{SITEMAP_NS}">']
    lines += [f"  <sitemap><loc>{escape(_absolute(base_url, name))}</loc></sitemap>" for name in files]
    lines.append("</sitemapindex>")
    return {"sitemap.xml": ("\n".join(lines) + "\n").encode("utf-8"), **files}


def _urlset(locs: list[str]) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<urlset xmlns="{SITEMAP_NS}">']
    lines += [f"  <url><loc>{loc}</loc></url>" for loc in locs]
    lines.append("</urlset>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def newest_forms(forms) -> list:
    """The :data:`FEED_ENTRIES` forms published last, newest first (the newest of a few
    groups of forms are among the newest of each group: :func:`newest_of_groups`)."""
    return sorted(forms, key=_PUBLISHED, reverse=True)[:FEED_ENTRIES]


def newest_of_groups(groups: list[list]) -> list:
    """:func:`newest_forms` of the forms of ``groups``, each group already its own newest forms
    in that order: merged, not sorted again (no two forms have the same key)."""
    return list(islice(heapq.merge(*groups, key=_PUBLISHED, reverse=True), FEED_ENTRIES))


# the publication date, then the form's key (Report.key), read in C
_PUBLISHED = attrgetter("report.published", "report.department.slug", "report.year", "report.project_id")


def feed_xml(site: CheckedSite, t: dict, newest: list | None = None) -> bytes:
    """The newest :data:`FEED_ENTRIES` forms, newest publication first; timestamps are
    publication dates. ``newest``: :func:`newest_forms` of the site, when already known."""
    config = site.config
    base = config.base_url
    forms = newest if newest is not None else newest_forms(site.forms)
    updated = forms[0].report.published if forms else "1970-01-01"
    feed_id = base + "/" if base else "urn:perfsite:" + quote(config.title, safe="")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<feed xmlns="http://www.w3.org/2005/Atom">',
             f"  <title>{escape(config.title)}</title>",
             f"  <id>{escape(feed_id)}</id>",
             f"  <updated>{updated}T00:00:00Z</updated>",
             f"  <link rel=\"self\" href={quoteattr(_absolute(base, 'feed.xml'))}/>"]
    for form in forms:
        r = form.report
        url = _absolute(base, report_url(r))
        entry_id = url if base else f"urn:perfsite:{r.department.slug}:{r.year}" + (
            f":{r.project_id}" if r.project_id else "")
        summary = t["feed_summary"].format(name=r.department.name, year=r.year, total=form.total_shown,
                                           grade=form.grade)
        if r.department.fictional:
            summary = f"{t['fictional_short']} {summary}"
        lines += ["  <entry>",
                  f"    <title>{escape(form_title(r))}</title>",
                  f"    <id>{escape(entry_id)}</id>",
                  f"    <link href={quoteattr(url)}/>",
                  f"    <updated>{r.published}T00:00:00Z</updated>",
                  f"    <summary>{escape(summary)}</summary>",
                  "  </entry>"]
    lines.append("</feed>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def robots_txt(base_url: str) -> bytes:
    text = "User-agent: *\nAllow: /\n"
    if base_url:
        text += f"Sitemap: {base_url}/sitemap.xml\n"
    return text.encode("utf-8")
