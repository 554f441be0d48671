"""perfsite: performance self-evaluation forms to a static disclosure website.

The pipeline, one package per stage, each importing only the stages above it:

    errors, files                one error type per kind, every problem located; one atomic writer
    read/     files → records    the one input rule, YAML with positions, formats, config, profiles
    score/    records → checked  scoring under a profile, rule variants, audit, check
    site/     checked → files    site model, charts, theme, render, downloads, feeds, search, pipeline
    build/    files → disk       build cache and stamps, workers, standby output, atomic swap
    serve/    files → browser    in-memory site, change tracking, HTTP and live reload
    excel/    workbooks ↔ records  template, import, export
    scaffold  ``perfsite new``   cli  the command line (thin: parses, calls, prints)

``docs/architecture.md`` follows a record through it and says where to add a page type,
a download, a finding, a profile option or a layout.
"""

__version__ = "0.1.0"
