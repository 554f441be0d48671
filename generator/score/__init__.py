"""Score: records → checked forms (recomputed under a profile and audited).

scoring      rates, scores, totals and grades, exact (Fraction) and rounded once; ranges for unknowns
explain      which known rule variant reproduces a printed number that differs
audit        findings: each reported number against the recomputation, in plain words
check        the one read → score → audit sequence (a form, a department, a project)
report_text  the human-readable ``perfsite check`` output
"""
