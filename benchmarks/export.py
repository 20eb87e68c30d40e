"""How big an exported lesson page is, and how soon Chromium paints it from ``file://``.

The page measured is the heaviest the shipped lessons make: every lesson is exported with
``--switches`` (three runs each, compared), in this process, and the largest page is opened in
Debian's Chromium again and again, each time in a fresh tab, with every request that is not
for a ``file:`` URL blocked. First paint is the browser's own ``first-contentful-paint`` entry:
from the start of navigation to the first text on screen.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlecho._site import lesson_files, write_site
from sqlecho._trace.tracer import in_process

from .stats import Figure, median, percentile, unavailable

__all__ = ["FIGURES", "ExportPlan", "measure_export"]

FIGURES = ["export_page_kib_max", "export_page_ms_p50", "export_page_ms_p95"]
CHROMIUM = "/usr/bin/chromium"
_LESSONS = Path(__file__).resolve().parent.parent / "lessons"


@dataclass(frozen=True)
class ExportPlan:
    lessons: int = 0
    """Lessons exported (0: all of them); the heaviest page among them is opened."""
    loads: int = 20
    """Times the page is opened (after one unmeasured load)."""


def measure_export(folder: Path, plan: ExportPlan) -> list[Figure]:
    """Export the lessons, then time Chromium's first paint of the largest page."""
    files = lesson_files([_LESSONS])
    if plan.lessons:
        files = files[: plan.lessons]
    site = folder / "site"
    lessons = [(path, path.read_text(encoding="utf-8")) for path in files]
    pages = write_site(lessons, site, in_process, switches=True)
    largest = max(pages, key=lambda page: page.bytes)
    sizes = {page.path.name: page.bytes for page in pages}
    size = Figure(
        FIGURES[0], round(largest.bytes / 1024, 1), details={"page": largest.path.name, "bytes": sizes}
    )
    if not os.path.exists(CHROMIUM):
        return [size, *unavailable(FIGURES[1:], f"no Chromium at {CHROMIUM}")]
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return [size, *unavailable(FIGURES[1:], "playwright is not installed")]
    paints: list[float] = []
    url = largest.path.as_uri() + "#step=3"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            for round_ in range(plan.loads + 1):
                tab = browser.new_page()
                tab.route(lambda url: not url.startswith("file:"), lambda route: route.abort())
                tab.goto(url, wait_until="load")
                paint = tab.evaluate(
                    """() => new Promise(done => {
                        const find = () => performance.getEntriesByName('first-contentful-paint')[0];
                        if (find()) return done(find().startTime);
                        new PerformanceObserver(() => find() && done(find().startTime))
                            .observe({type: 'paint', buffered: true});
                    })"""
                )
                tab.close()
                if round_:  # the first load warms the browser's caches and is not counted
                    paints.append(float(paint))
        finally:
            browser.close()
    details = {"page": largest.path.name, "samples_ms": [round(p, 1) for p in paints]}
    return [
        size,
        Figure(FIGURES[1], round(median(paints), 1), details=details),
        Figure(FIGURES[2], round(percentile(paints, 95), 1)),
    ]
