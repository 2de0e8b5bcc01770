"""What the nightly report costs per cell, at the default matrix's scale and at nightly scale.

    python benchmarks/bench_report.py [--out DIR] [--scales default,nightly] [--no-browser]

Makes the synthetic results documents of benchmarks/synthetic_report.py (7260 cells, the
default matrix's shape, and 38400: 8 release lines x 2 devices x 5 models x 5 export modes
x 6 loaders, with statuses, errors, logs and reproduce lines of the sizes the harness
writes), then for each:

- renders and serialises it the way `publish` does, printing the seconds of each step
  (index.html, results.json, junit.xml, summary.md) and of two history runs (the first a
  full state, the second an unchanged re-run, stored as its changes);
- prints bytes per cell of index.html, results.json and junit.xml, and history.sqlite's size;
- opens index.html from file:// in headless Chromium (Debian's /usr/bin/chromium and
  chromedriver, as the browser tier drives them) and prints the time until the overview is
  drawn, the time a status filter takes to apply, and the time until the first detail
  panel has inflated the page's data and drawn itself.

Prints measurements only; this machine is shared and noisy, so nothing here is a threshold.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic_report import DEFAULT, NIGHTLY, Shape, synthetic_document  # noqa: E402
from harness.document.results import ResultsDocument, write_document  # noqa: E402
from harness.report.history import add_history  # noqa: E402
from harness.report.html import render_html  # noqa: E402
from harness.report.junit import junit_xml  # noqa: E402
from harness.report.markdown import markdown  # noqa: E402
from harness.store.files import write_text_atomic  # noqa: E402

SCALES = {"default": DEFAULT, "nightly": NIGHTLY}
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--window-size=1400,900")


def timed(what: str, make: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = make()
    print(f"  {what:<34} {time.perf_counter() - started:7.2f} s")
    return result


def write_all(doc: ResultsDocument, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    html = timed("render index.html", lambda: render_html(doc))
    write_text_atomic(out / "index.html", html)
    timed("serialise + write results.json", lambda: write_document(doc, out / "results.json"))
    write_text_atomic(out / "junit.xml", timed("render junit.xml", lambda: junit_xml(doc)))
    write_text_atomic(out / "summary.md", timed("render summary.md", lambda: markdown(doc)))


def sizes(doc: ResultsDocument, out: Path) -> None:
    cells = len(doc.cells)
    for name in ("index.html", "results.json", "junit.xml"):
        size = (out / name).stat().st_size
        print(f"  {name:<14} {size / 1e6:8.2f} MB  {size / cells:7.1f} bytes per cell")


def history(doc: ResultsDocument, out: Path) -> None:
    path = out / "history.sqlite"
    path.unlink(missing_ok=True)
    first = timed("history: first run (full state)", lambda: add_history(doc, path, 1e-3))
    full = path.stat().st_size
    rerun = dataclasses.replace(first, run=dataclasses.replace(first.run, id=first.run.id + "-again"))
    timed("history: unchanged re-run", lambda: add_history(rerun, path, 1e-3))
    again = path.stat().st_size
    print(f"  history.sqlite {full / 1e6:8.2f} MB after the first run, {again / 1e6:.2f} MB after the re-run")


def browser(page: Path) -> None:
    """Open, filter, detail: in-page milliseconds (performance.now()) and wall seconds."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='bench-chromium-')}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        started = time.perf_counter()
        driver.get(page.as_uri())
        WebDriverWait(driver, 60).until(lambda d: d.execute_script("return document.documentElement.dataset.ready"))
        wall = time.perf_counter() - started
        drawn = driver.execute_script("return performance.now()")
        script = driver.execute_script("return document.documentElement.dataset.readyMs")
        script_s = float(script) / 1e3
        print(f"  open: overview drawn {drawn / 1e3:.2f} s after start (script {script_s:.2f}; wall {wall:.2f} s)")
        started = time.perf_counter()
        applied = driver.execute_script(
            """
            var t0 = performance.now(), select = document.getElementById("f-status");
            select.value = "@failure";
            select.dispatchEvent(new Event("change"));
            return [performance.now() - t0, document.getElementById("filter-count").textContent];
            """
        )
        wall = time.perf_counter() - started
        print(f"  filter 'any unexpected failure': {applied[0] / 1e3:.3f} s in the page, {wall:.2f} s wall")
        print(f"    ({applied[1]})")
        started = time.perf_counter()
        driver.execute_script("location.hash = 'cell-' + document.querySelector('#list tr[data-cell]').dataset.cell")
        WebDriverWait(driver, 60).until(
            lambda d: d.execute_script("return !!document.querySelector('#detail pre.log, #detail .rest h3')")
        )
        print(f"  first detail panel (inflates the page's data): {time.perf_counter() - started:.2f} s wall")
    finally:
        driver.quit()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="keep the reports here (default: a temporary directory)")
    parser.add_argument("--scales", default="default,nightly", help="default, nightly or both")
    parser.add_argument("--no-browser", action="store_true", help="skip the headless Chromium measurements")
    args = parser.parse_args(argv)
    base = args.out or Path(tempfile.mkdtemp(prefix="bench-report-"))
    for name in args.scales.split(","):
        shape: Shape = SCALES[name]
        print(f"{name}: {shape.cells} cells")
        doc = timed("make the synthetic document", lambda: synthetic_document(shape))  # noqa: B023 - called at once
        out = base / name
        write_all(doc, out)
        history(doc, out)
        sizes(doc, out)
        if not args.no_browser:
            browser(out / "index.html")
    print(f"reports kept in {base}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
