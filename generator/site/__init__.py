"""Site: checked forms → the site's files, in memory (nothing here writes to disk).

export     the ``check`` JSON contract (exact numbers) and the published JSON Schemas
markdown   narratives to safe HTML
charts     Plotly figure specs, each with its data table
sitemodel  every page of the site with its context and the records it depends on
theme      themes and site overrides: templates, static files, strings, glossary
render     Jinja helpers, assets, the section cache (``cached()``), one page to text
opendata   per-form downloads and the rows of the bulk files
feeds      feed.xml, sitemap.xml, robots.txt
search     Pagefind indexing with Chinese segmentation
pipeline   what both engines (build, serve) call to make every page and file
"""
