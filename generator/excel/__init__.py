"""Excel: workbooks laid out like the official form ↔ YAML records.

numbers    numbers between Excel and records, never through binary floats
unpack     a workbook checked (size, zip bombs, damage, DTDs, giant tokens) before parsing
layout     where everything sits on the form sheet
grid       a workbook as grids of located cells
formsheet  one form sheet written from record data
yaml_text  deterministic YAML for imported records
read       one form sheet → record data, every value located by its cell
write      the blank template and the export of every record
importer   ``perfsite import``: all or nothing
commands   the ``template``, ``import`` and ``export`` subcommands
"""
