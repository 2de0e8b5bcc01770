"""The HTML report in a real headless Chromium, opened from file:// with no network: the grid
renders, a click on a failing cell opens its detail, filters hide what does not match, the
headers stay put while the grid scrolls. Screenshots go to HARNESS_SCREENSHOT_DIR."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.document.results import read_document
from harness.report.html import write_html

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

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "report_v2.json"
# A failing cell that is newly broken and whose error carries markup (it must show as text).
FAILING_CELL = {
    "producer": "cpu-3.3.1",
    "model": "ppyoloe_tiny",
    "export": "fullgraph_off-legacy",
    "consumer": "cpu-2.6.2",
    "loader": "jit_load",
}
# Whether each real grid cell is rendered visible, as [data-cell, visible] pairs: one round
# trip instead of one per cell. checkVisibility also sees visibility:hidden.
VISIBILITY_JS = """
return Array.from(document.querySelectorAll('#grid td.cell[data-cell]')).map(function (td) {
  return [Number(td.dataset.cell), td.checkVisibility({checkVisibilityCSS: true, visibilityProperty: true})];
});
"""


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def page(results: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> str:
    target = tmp_path_factory.mktemp("report") / "index.html"
    write_html(read_document(FIXTURE), target)
    return target.as_uri()


@pytest.fixture
def opened(driver: Any, page: str) -> Iterator[Any]:
    """The report freshly loaded (no filter, no open panel), its script done."""
    driver.get(page)
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "filter-count").text.startswith("showing"))
    yield driver


def cell_index(results: dict[str, Any], key: dict[str, str]) -> int:
    return next(n for n, c in enumerate(results["cells"]) if all(c[k] == v for k, v in key.items()))


def visible_cells(driver: Any) -> set[int]:
    return {n for n, visible in driver.execute_script(VISIBILITY_JS) if visible}


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


def test_the_grid_renders_every_cell(opened: Any, results: dict[str, Any], screenshot_dir: Path) -> None:
    driver = opened
    cells = driver.find_elements(By.CSS_SELECTOR, "#grid td.cell[data-cell]")
    assert len(cells) == len(results["cells"]) == 192
    positions = len(results["runtimes"]) * len(results["models"]) * len(results["export_modes"])
    positions *= len(results["runtimes"]) * len(results["loaders"])
    assert len(driver.find_elements(By.CSS_SELECTOR, "#grid td.cell")) == positions
    assert visible_cells(driver) == set(range(len(results["cells"])))
    assert driver.find_element(By.ID, "filters").is_displayed()  # shown by the page's own script
    assert driver.find_element(By.ID, "filter-count").text == f"showing {len(cells)} of {len(cells)} cells"
    assert driver.find_element(By.ID, "compat").is_displayed() and driver.find_element(By.ID, "trend").is_displayed()
    assert_no_alert(driver)
    assert_no_js_errors(driver)
    shoot(driver, screenshot_dir, "01-report.png")


def test_a_click_on_a_failing_cell_opens_its_detail(opened: Any, results: dict[str, Any], screenshot_dir: Path) -> None:
    driver = opened
    n = cell_index(results, FAILING_CELL)
    cell = results["cells"][n]
    assert cell["status"] == "load_failed" and "<script>" in cell["error"]
    panel = driver.find_element(By.ID, f"cell-{n}")
    assert not panel.is_displayed()

    link = driver.find_element(By.CSS_SELECTOR, f'#grid td.cell[data-cell="{n}"] a')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
    link.click()
    WebDriverWait(driver, 5).until(ec.visibility_of(panel))
    assert driver.current_url.endswith(f"#cell-{n}")
    error = panel.find_element(By.CSS_SELECTOR, "pre.error")
    assert error.is_displayed() and error.text == cell["error"]  # verbatim, markup shown as text
    reproduce = panel.find_element(By.CSS_SELECTOR, "pre.reproduce")
    assert reproduce.is_displayed() and reproduce.get_attribute("textContent") == cell["details"]["reproduce"]
    assert "newly broken" in panel.find_element(By.CSS_SELECTOR, "dd.transition").text
    # The export's fingerprint, written once per export, was copied into this panel by the page's script.
    export = next(e for e in results["exports"] if all(e[k] == cell[k] for k in ("producer", "model", "export")))
    params_hash = panel.find_element(By.CSS_SELECTOR, ".fp-slot table.fingerprint code.params-hash")
    assert params_hash.is_displayed() and params_hash.text == export["params_sha256"]
    assert_no_alert(driver)  # the <script> in the error and the command did not run
    others = [p for p in driver.find_elements(By.CSS_SELECTOR, "section.detail") if p.is_displayed()]
    assert others == [panel]
    shoot(driver, screenshot_dir, "02-detail.png")

    ActionChains(driver).send_keys(Keys.ESCAPE).perform()  # the page's Esc handler closes it
    WebDriverWait(driver, 5).until(ec.invisibility_of_element(panel))
    assert_no_js_errors(driver)


def test_a_status_filter_hides_every_other_cell(opened: Any, results: dict[str, Any], screenshot_dir: Path) -> None:
    driver = opened
    wanted = {n for n, c in enumerate(results["cells"]) if c["shown_as"] == "load_failed"}
    assert 0 < len(wanted) < len(results["cells"])

    Select(driver.find_element(By.ID, "f-status")).select_by_value("load_failed")
    assert visible_cells(driver) == wanted
    for n in wanted:  # selenium's own notion of displayed agrees
        assert driver.find_element(By.CSS_SELECTOR, f'#grid td.cell[data-cell="{n}"]').is_displayed()
    hidden_example = next(n for n, c in enumerate(results["cells"]) if c["shown_as"] == "pass")
    assert not driver.find_element(By.CSS_SELECTOR, f'#grid td.cell[data-cell="{hidden_example}"]').is_displayed()
    assert driver.find_element(By.ID, "filter-count").text == f"showing {len(wanted)} of {len(results['cells'])} cells"
    rows = [tr for tr in driver.find_elements(By.CSS_SELECTOR, "#grid tbody tr") if tr.is_displayed()]
    assert len(rows) == len({tuple(results["cells"][n][k] for k in ("producer", "model", "export")) for n in wanted})
    shoot(driver, screenshot_dir, "03-filter-load_failed.png")

    driver.find_element(By.ID, "f-reset").click()
    assert visible_cells(driver) == set(range(len(results["cells"])))


def test_row_and_column_filters_combine(opened: Any, results: dict[str, Any]) -> None:
    driver = opened
    Select(driver.find_element(By.ID, "f-model")).select_by_value("rtdetr_tiny")
    Select(driver.find_element(By.ID, "f-loader")).select_by_value("jit_load")
    wanted = {n for n, c in enumerate(results["cells"]) if c["model"] == "rtdetr_tiny" and c["loader"] == "jit_load"}
    assert visible_cells(driver) == wanted
    heads = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "#grid thead th.loader") if th.is_displayed()]
    assert heads == ["jit_load"] * len(results["runtimes"])


def test_the_newly_broken_link_shows_only_those(opened: Any, results: dict[str, Any], screenshot_dir: Path) -> None:
    driver = opened
    wanted = {n for n, c in enumerate(results["cells"]) if c.get("transition") == "newly_broken"}
    assert len(wanted) == results["transitions"]["newly_broken"] == 3
    driver.find_element(By.CSS_SELECTOR, '#changes a[data-value="newly_broken"]').click()
    assert Select(driver.find_element(By.ID, "f-change")).first_selected_option.get_attribute("value") == "newly_broken"
    assert visible_cells(driver) == wanted
    shoot(driver, screenshot_dir, "04-newly-broken.png")


def test_headers_stay_put_while_the_grid_scrolls(driver: Any, page: str, screenshot_dir: Path) -> None:
    size = driver.get_window_size()
    driver.set_window_size(900, 520)  # small enough that the grid scrolls inside its box
    try:
        driver.get(page)
        WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "filter-count").text.startswith("showing"))
        wrap = driver.find_element(By.CSS_SELECTOR, ".grid-wrap")
        driver.execute_script("arguments[0].scrollIntoView()", wrap)
        before = driver.execute_script(
            "return document.querySelector('#grid tbody td.cell').getBoundingClientRect().top"
        )
        driver.execute_script("arguments[0].scrollTop = 200; arguments[0].scrollLeft = 250;", wrap)
        box = driver.execute_script(
            """
            var wrap = arguments[0].getBoundingClientRect();
            var consumer = document.querySelector('#grid thead th.consumer').getBoundingClientRect();
            var loader = document.querySelector('#grid thead th.loader').getBoundingClientRect();
            var row = document.querySelector('#grid tbody tr:nth-child(12) th.producer').getBoundingClientRect();
            var cell = document.querySelector('#grid tbody td.cell').getBoundingClientRect();
            return {wrapTop: wrap.top, wrapLeft: wrap.left, consumerTop: consumer.top, consumerBottom: consumer.bottom,
                    loaderTop: loader.top, loaderBottom: loader.bottom, rowLeft: row.left, cellTop: cell.top};
            """,
            wrap,
        )
        assert box["cellTop"] < before - 150  # the body did scroll
        # both header rows stayed at the top: consumers first, their loaders right below
        assert abs(box["consumerTop"] - box["wrapTop"]) <= 2
        assert abs(box["loaderTop"] - box["consumerBottom"]) <= 2
        assert abs(box["rowLeft"] - box["wrapLeft"]) <= 2  # the producer column stayed at the left
        shoot(driver, screenshot_dir, "05-sticky-headers.png")
    finally:
        driver.set_window_size(size["width"], size["height"])
