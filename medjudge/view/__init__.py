"""The HTML report: figures (plots.py), the page (report.py, report.html.j2)."""
