"""Read: project files → validated records, every problem located and collected.

inputs      the one rule for every file read (no links, sized before reading) and the one walker
yamlsource  YAML with a source position for every value; nothing silently coerced
schema      the record formats as JSON Schema (published by ``perfsite schema``)
validate    the validator for those schemas, compiled to predicates, wording each failure
values      target and actual values as officials write them → comparator, number, unit
model       the record model: frozen dataclasses, Decimal money
profiles    scoring rule profiles (YAML data in profiles/), validated like content
config      ``content/site.yaml`` and the project layout
records     the content folder → departments and forms (with the record cache ``serve`` uses)
"""
