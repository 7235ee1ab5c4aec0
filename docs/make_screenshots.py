"""Regenerate the README's screenshots from the quickstart's two pages, in headless Chromium (Debian's package).

    mkdir /tmp/qs && cd /tmp/qs && medjudge quickstart
    python docs/make_screenshots.py /tmp/qs      # writes docs/report-run.png and docs/report-calibration.png
"""

import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent


def main(folder: str) -> None:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    pages = {"report-run.png": "medjudge-report.html", "report-calibration.png": "medjudge-calibration.html"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1150, "height": 1000})
        for png, html in pages.items():
            page.goto((Path(folder) / html).resolve().as_uri())
            page.wait_for_load_state("load")
            page.screenshot(path=str(HERE / png))
            print(f"wrote {HERE / png}")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
