"""perfsite: performance self-evaluation forms to a static disclosure website.

Modules in pipeline order, each importing only those above it:
errors → inputs → yamlsource → schema → profiles → config → values → model → records →
scoring → audit → export → check → report_text → (site model, charts, theme,
render, sitefolder, output, buildcache, shards, build, serve) → cli.
"""

__version__ = "0.1.0"
