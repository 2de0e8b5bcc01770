"""The HTML report in a real headless Chromium, opened from file:// with no network.

On report_v2.json: the first screen is the pair overview, a pair opens its drill-down, a
failing cell opens its detail (untrusted text stays text). On the synthetic nightly
document (38400 cells, benchmarks/synthetic_report.py): every built runtime is on the first
screen, a pair drills down, a filter lists its cells, the upstream report is copied. Times
are printed, never asserted. Screenshots go to HARNESS_SCREENSHOT_DIR."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.document.results import ResultsDocument, read_document
from harness.report.html import write_html
from harness.report.upstream import upstream_report

try:  # the conftest skips (or with HARNESS_REQUIRE_BROWSER=1 fails) the tier without selenium
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:
    pass

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "data" / "report_v2.json"
FIRST_SCREEN = (1400, 900)
# A failing cell that is newly broken and whose error carries markup (it must show as text).
FAILING_CELL = {
    "producer": "cpu-3.3.1",
    "model": "ppyoloe_tiny",
    "export": "fullgraph_off-legacy",
    "consumer": "cpu-2.6.2",
    "loader": "jit_load",
}
PAIR = ("cpu-3.3.1", "cpu-2.6.2")


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    target = tmp_path_factory.mktemp("report") / "index.html"
    write_html(read_document(FIXTURE), target)
    return target.as_uri()


@pytest.fixture(scope="module")
def nightly(tmp_path_factory: pytest.TempPathFactory) -> tuple[ResultsDocument, str]:
    """The synthetic nightly document and its page."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.synthetic_report import NIGHTLY, synthetic_document

    doc = synthetic_document(NIGHTLY)
    target = tmp_path_factory.mktemp("nightly") / "index.html"
    started = time.perf_counter()
    write_html(doc, target)
    cells = len(doc.cells)
    print(f"nightly page: {cells} cells, {target.stat().st_size / cells:.0f} bytes per cell, "
          f"rendered in {time.perf_counter() - started:.2f} s")  # fmt: skip
    return doc, target.as_uri()


def load(driver: Any, url: str, size: tuple[int, int] = FIRST_SCREEN) -> float:
    """Open the page at this window size and wait for its script; the seconds it took."""
    driver.set_window_size(*size)
    started = time.perf_counter()
    driver.get(url)
    WebDriverWait(driver, 60).until(lambda d: d.execute_script("return document.documentElement.dataset.ready"))
    return time.perf_counter() - started


@pytest.fixture
def opened(driver: Any, page: str) -> Iterator[Any]:
    load(driver, page)
    yield driver


def tried_here(cell: dict[str, Any]) -> bool:
    """Counted in its pair's passes/cells tried: it ran and was judged (a failed export is counted
    on its producer's row, not in each pair)."""
    not_run = ("unavailable", "skipped", "not_applicable", "infra_error")
    return cell["shown_as"] not in not_run and cell["stage"] not in ("export", "reference")


def cell_index(results: dict[str, Any], key: dict[str, str]) -> int:
    return next(n for n, c in enumerate(results["cells"]) if all(c[k] == v for k, v in key.items()))


def shoot(driver: Any, directory: Path, name: str) -> None:
    path = directory / name
    assert driver.save_screenshot(str(path)), path
    print(f"screenshot: {path}")


def assert_no_alert(driver: Any) -> None:
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 - reading it is the check


def assert_no_js_errors(driver: Any) -> None:
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def on_first_screen(driver: Any, element: Any) -> bool:
    box = driver.execute_script("var r = arguments[0].getBoundingClientRect(); return [r.bottom, r.right];", element)
    height, width = driver.execute_script("return [window.innerHeight, window.innerWidth]")
    return bool(box[0] <= height and box[1] <= width)


def open_pair(driver: Any, producer: str, consumer: str) -> Any:
    button = driver.find_element(
        By.CSS_SELECTOR, f'#overview-grid td.pair[data-producer="{producer}"][data-consumer="{consumer}"] button'
    )
    button.click()
    section = driver.find_element(By.ID, "pair")
    WebDriverWait(driver, 10).until(ec.visibility_of(section))
    return section


def test_the_first_screen_is_the_pair_overview(opened: Any, results: dict[str, Any], screenshot_dir: Path) -> None:
    driver = opened
    grid = driver.find_element(By.ID, "overview-grid")
    ready = [r["id"] for r in results["runtimes"] if r["state"] == "ready"]
    rows = [tr.get_attribute("data-producer") for tr in grid.find_elements(By.CSS_SELECTOR, "tbody tr")]
    cols = [th.text for th in grid.find_elements(By.CSS_SELECTOR, "thead th.consumer")]
    assert rows == ready == cols
    assert on_first_screen(driver, grid)
    lines = driver.find_elements(By.CSS_SELECTOR, "#collapsed li")
    assert [li.get_attribute("data-runtime") for li in lines] == [
        r["id"] for r in results["runtimes"] if r["state"] != "ready"
    ]
    assert all(on_first_screen(driver, li) for li in lines)
    # cpu-3.3.1 -> cpu-2.6.2: its worst unexpected outcome, passes over cells tried, expected and changed marks
    entry = grid.find_element(By.CSS_SELECTOR, 'td.pair[data-producer="cpu-3.3.1"][data-consumer="cpu-2.6.2"]')
    tried = [c for c in results["cells"] if (c["producer"], c["consumer"]) == PAIR and tried_here(c)]
    assert entry.get_attribute("data-worst") == "crash"
    passed = sum(c["shown_as"] in ("pass", "flaky") for c in tried)
    assert entry.get_attribute("data-pass") == str(passed) and entry.get_attribute("data-tried") == str(len(tried))
    assert "▼" in entry.text
    assert driver.find_element(By.ID, "headline").is_displayed()
    assert_no_alert(driver)
    assert_no_js_errors(driver)
    shoot(driver, screenshot_dir, "01-overview.png")


def test_a_pair_opens_its_drill_down_and_a_failing_cell_its_detail(
    opened: Any, results: dict[str, Any], screenshot_dir: Path
) -> None:
    driver = opened
    section = open_pair(driver, *PAIR)
    assert driver.find_element(By.ID, "pair-title").text == "cpu-3.3.1 → cpu-2.6.2"
    loaders = [th.text for th in section.find_elements(By.CSS_SELECTOR, "thead th.loader")]
    assert loaders == [ld["id"] for ld in results["loaders"]]
    shown = {int(td.get_attribute("data-cell")) for td in section.find_elements(By.CSS_SELECTOR, "td.cell[data-cell]")}
    assert shown == {n for n, c in enumerate(results["cells"]) if (c["producer"], c["consumer"]) == PAIR}
    shoot(driver, screenshot_dir, "02-pair.png")

    n = cell_index(results, FAILING_CELL)
    cell = results["cells"][n]
    assert cell["status"] == "load_failed" and "<script>" in cell["error"]
    link = section.find_element(By.CSS_SELECTOR, f'td.cell[data-cell="{n}"] a')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
    link.click()
    panel = driver.find_element(By.ID, "detail")
    WebDriverWait(driver, 10).until(ec.visibility_of(panel))
    WebDriverWait(driver, 10).until(lambda d: panel.find_elements(By.CSS_SELECTOR, "pre.log"))
    assert driver.current_url.endswith(f"#cell-{n}")
    error = panel.find_element(By.CSS_SELECTOR, "pre.error")
    assert error.is_displayed() and error.text == cell["error"]  # verbatim, markup shown as text
    reproduce = panel.find_element(By.CSS_SELECTOR, "pre.reproduce.step")
    assert reproduce.get_attribute("textContent") == cell["details"]["reproduce"]
    assert "newly broken" in panel.find_element(By.CSS_SELECTOR, "dd.transition").text
    export = next(e for e in results["exports"] if all(e[k] == cell[k] for k in ("producer", "model", "export")))
    assert panel.find_element(By.CSS_SELECTOR, "table.fingerprint code.params-hash").text == export["params_sha256"]
    assert_no_alert(driver)  # the <script> in the error and the command did not run
    shoot(driver, screenshot_dir, "03-detail.png")

    ActionChains(driver).send_keys(Keys.ESCAPE).perform()  # the page's Esc handler closes it
    WebDriverWait(driver, 5).until(ec.invisibility_of_element(panel))
    assert_no_js_errors(driver)


def test_the_selectors_change_what_the_overview_summarises(opened: Any, results: dict[str, Any]) -> None:
    driver = opened
    Select(driver.find_element(By.ID, "f-model")).select_by_visible_text("rtdetr_tiny")
    Select(driver.find_element(By.ID, "f-loader")).select_by_visible_text("predictor")
    entry = driver.find_element(By.CSS_SELECTOR, 'td.pair[data-producer="cpu-2.6.2"][data-consumer="cpu-3.3.1"]')
    wanted = [
        c
        for c in results["cells"]
        if (c["producer"], c["consumer"], c["model"], c["loader"])
        == ("cpu-2.6.2", "cpu-3.3.1", "rtdetr_tiny", "predictor")
        and tried_here(c)
    ]
    assert entry.get_attribute("data-tried") == str(len(wanted))
    assert entry.get_attribute("data-pass") == str(sum(c["shown_as"] == "pass" for c in wanted))


def test_the_nightly_first_screen_has_every_built_runtime(
    driver: Any, nightly: tuple[ResultsDocument, str], screenshot_dir: Path
) -> None:
    doc, url = nightly
    seconds = load(driver, url)
    in_page = driver.execute_script("return performance.now()")
    print(f"nightly page open: overview drawn {in_page / 1e3:.2f} s after navigation ({seconds:.2f} s wall)")
    grid = driver.find_element(By.ID, "overview-grid")
    ready = [r.id for r in doc.runtimes if r.state.value == "ready"]
    assert [tr.get_attribute("data-producer") for tr in grid.find_elements(By.CSS_SELECTOR, "tbody tr")] == ready
    assert [th.text for th in grid.find_elements(By.CSS_SELECTOR, "thead th.consumer")] == ready
    assert on_first_screen(driver, grid)
    assert_no_js_errors(driver)
    shoot(driver, screenshot_dir, "04-nightly-overview.png")


def test_a_nightly_pair_drills_down_to_its_models_modes_and_loaders(
    driver: Any, nightly: tuple[ResultsDocument, str], screenshot_dir: Path
) -> None:
    doc, url = nightly
    load(driver, url)
    producer, consumer = "cpu-3.3.1", "cpu-2.6.2"
    section = open_pair(driver, producer, consumer)
    pair = [c for c in doc.cells if (c.producer, c.consumer) == (producer, consumer)]
    assert len(section.find_elements(By.CSS_SELECTOR, "td.cell[data-cell]")) == len(pair)
    assert len(section.find_elements(By.CSS_SELECTOR, "tbody tr")) == len({(c.model, c.export) for c in pair})
    shoot(driver, screenshot_dir, "05-nightly-pair.png")


def test_a_nightly_status_filter_lists_its_cells(
    driver: Any, nightly: tuple[ResultsDocument, str], screenshot_dir: Path
) -> None:
    doc, url = nightly
    load(driver, url)
    started = time.perf_counter()
    Select(driver.find_element(By.ID, "f-status")).select_by_value("run_failed")
    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "cell-list").is_displayed())
    applied = driver.execute_script("return document.documentElement.dataset.applyMs")
    print(
        f"nightly filter status=run_failed: {float(applied) / 1e3:.3f} s in the page ({time.perf_counter() - started:.2f} s wall)"
    )
    wanted = [n for n, c in enumerate(doc.cells) if c.shown_as == "run_failed"]
    assert (
        driver.find_element(By.ID, "list-count").text
        == f"showing {min(200, len(wanted))} of {len(wanted)} matching cells"
    )
    listed = [int(tr.get_attribute("data-cell")) for tr in driver.find_elements(By.CSS_SELECTOR, "#list tbody tr")]
    assert listed == wanted[:200]
    dimmed = driver.find_elements(By.CSS_SELECTOR, "#overview-grid td.pair.f-out")
    lit = driver.find_elements(By.CSS_SELECTOR, "#overview-grid td.pair:not(.f-out):not(.s-missing)")
    assert {(td.get_attribute("data-producer"), td.get_attribute("data-consumer")) for td in lit} == {
        (doc.cells[n].producer, doc.cells[n].consumer) for n in wanted
    }
    assert dimmed
    shoot(driver, screenshot_dir, "06-nightly-filter.png")


def test_the_upstream_report_is_copied_from_the_detail_panel(
    driver: Any, nightly: tuple[ResultsDocument, str], screenshot_dir: Path
) -> None:
    doc, url = nightly
    load(driver, url)
    n = next(n for n, c in enumerate(doc.cells) if c.shown_as == "run_failed")
    cell = doc.cells[n]
    started = time.perf_counter()
    driver.execute_script(f"location.hash = 'cell-{n}'")
    panel = driver.find_element(By.ID, "detail")
    WebDriverWait(driver, 60).until(lambda d: panel.find_elements(By.CSS_SELECTOR, "pre.upstream"))
    print(f"first detail panel (inflates the page's data): {time.perf_counter() - started:.2f} s wall")
    block = panel.find_element(By.CSS_SELECTOR, "pre.upstream")
    runtimes = {r.id: r for r in doc.runtimes}
    expected = upstream_report(
        cell,
        consumer=runtimes[cell.consumer],
        producer=runtimes[cell.producer],
        loader=next(ld for ld in doc.loaders if ld.id == cell.loader),
        export=next(
            e for e in doc.exports if (e.producer, e.model, e.export) == (cell.producer, cell.model, cell.export)
        ),
    )
    assert block.get_attribute("textContent") == expected
    assert "```python" in expected and "import paddle" in expected and cell.error in expected
    button = panel.find_element(By.CSS_SELECTOR, f'button.copy[data-copy="upstream-{n}"]')
    button.click()
    WebDriverWait(driver, 10).until(lambda d: button.text == "copied")
    assert driver.execute_script("return window.getSelection().toString()") == block.get_attribute("textContent")
    assert_no_js_errors(driver)
    shoot(driver, screenshot_dir, "07-upstream-report.png")
