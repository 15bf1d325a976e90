"""The dashboard (`GET /`, contract section 8) in a real browser: Playwright
driving Debian's Chromium against the real pipeline. Every page the tests
open records its requests; each test fails if one left 127.0.0.1.
Screenshots at 1366x768 and 390x844 go to SCREENSHOTS."""

from __future__ import annotations

import csv
import io
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from services.children import free_port
from services.common.config import REPO_DIR
from services.common.figures import flatten
from tests.integration.harness import Pipeline, poll

#: where the screenshots go (the README shows one of them)
SCREENSHOTS = Path(os.environ.get("RIBAO_SCREENSHOT_DIR", REPO_DIR / ".artifacts" / "screenshots"))
ZONE = ZoneInfo("Asia/Shanghai")
# 湖南省 长沙市 芙蓉区 文艺路街道 and its villages: no other test writes there
PROVINCE, CITY, COUNTY, TOWN = "430000000000", "430100000000", "430102000000", "430102001000"
VILLAGES = [f"430102001{n:03d}" for n in range(1, 8)]
OTHER_TOWN_VILLAGE = "430102002001"
TAG = uuid.uuid4().hex[:8]
WIDE: ViewportSize = {"width": 1366, "height": 768}
NARROW: ViewportSize = {"width": 390, "height": 844}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def chromium() -> str:
    """Debian's chromium (RIBAO_CHROMIUM overrides): fails in CI, skips elsewhere when absent."""
    path = os.environ.get("RIBAO_CHROMIUM") or shutil.which("chromium") or ""
    if not path:
        msg = "chromium not found (apt-get install chromium, or set RIBAO_CHROMIUM): run deploy/bootstrap.sh"
        if in_ci():
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def today() -> date:
    return datetime.now(ZONE).date()


def event(kind: str, where: str, occurred: datetime, person: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": kind,
        "jurisdiction": where,
        "occurred_at": occurred.isoformat(),
        "person": {"id": f"{TAG}-{person}"},
        "data": data,
    }


def history() -> list[dict[str, Any]]:
    """Screenings, isolations, symptoms and cases in the town over the last 12
    dates (today's a few minutes ago), and one screening in a sibling town."""
    now = datetime.now(ZONE)
    out = []
    for back in range(12):
        at = now - timedelta(minutes=10) if back == 0 else (now - timedelta(days=back)).replace(hour=9)
        for i in range(1 + back % 4):
            village, who = VILLAGES[(back + i) % len(VILLAGES)], f"{back}-{i}"
            registered = {"category": "returnee", "origin": "4201"}
            out.append(event("screening.registered", village, at, who, registered))
            if i % 2 == 0:
                out.append(event("isolation.started", village, at, who, {"mode": "home"}))
            if back % 3 == 0:
                out.append(event("symptom.reported", village, at, who, {"symptoms": ["fever"]}))
            if i == 2:
                out.append(event("case.classified", village, at, who, {"status": "confirmed"}))
    sibling = event(
        "screening.registered", OTHER_TOWN_VILLAGE, now - timedelta(minutes=5), "o", {"category": "other"}
    )
    out.append(sibling)
    return out


@pytest.fixture(scope="module")
def seeded(pipeline: Pipeline) -> Pipeline:
    events = history()
    resp = pipeline.post(events)
    assert resp.status_code == 202, resp.text
    screened = sum(1 for e in events if e["type"] == "screening.registered" and e["jurisdiction"] in VILLAGES)
    poll(
        lambda: pipeline.get("/v1/reports/daily", jurisdiction=TOWN).json(),
        lambda d: d["figures"]["screened"]["cumulative"] == screened,
        what="the seeded screenings counted",
    )
    return pipeline


@pytest.fixture(scope="module")
def viewer(pipeline: Pipeline) -> str:
    return pipeline.credential(f"dashboard-viewer-{TAG}", "viewer", "all")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    path = chromium()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path)
        try:
            yield b
        finally:
            b.close()


class Tab:
    """A page in a fresh browser context that records every request it makes."""

    def __init__(self, browser: Browser, base: str, viewport: ViewportSize, token: str | None) -> None:
        self.base = base
        self.context = browser.new_context(
            viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True
        )
        self.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        self.requests: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        if token is not None:
            self.context.add_init_script(f"sessionStorage.setItem('ribao.token', {token!r})")
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(20_000)

    def open(self, hash_: str = "", query: str = "") -> Page:
        self.page.goto(f"{self.base}/{query}{hash_}")
        return self.page

    def outside(self) -> list[str]:
        """The requests that did not go to 127.0.0.1."""
        bad = []
        for url in self.requests:
            inner = url[len("blob:") :] if url.startswith("blob:") else url
            if inner.startswith("data:"):
                continue
            if urlsplit(inner).hostname != "127.0.0.1":
                bad.append(url)
        return bad


@pytest.fixture
def tabs(browser: Browser, seeded: Pipeline) -> Iterator[list[Tab]]:
    opened: list[Tab] = []
    yield opened
    for tab in opened:
        tab.context.close()
    for tab in opened:
        assert tab.requests, "the page made no request"
        assert tab.outside() == [], "requests left 127.0.0.1"


def tab(
    tabs: list[Tab], browser: Browser, p: Pipeline, token: str | None, viewport: ViewportSize = WIDE
) -> Tab:
    t = Tab(browser, p.api_url, viewport, token)
    tabs.append(t)
    return t


def loaded(page: Page, code: str, after: int = 0) -> int:
    """Waits until every view of `code` has loaded (more than `after` loads); the load count."""
    page.wait_for_selector(f"#figures[data-code='{code}']")
    page.wait_for_function(
        f"Number(document.body.dataset.loaded || 0) > {after} && !document.body.dataset.loading"
    )
    page.wait_for_selector(f"#figures[data-code='{code}']")
    return int(page.evaluate("document.body.dataset.loaded"))


def number(text: str) -> int:
    return int(text.replace(",", "").strip())


def as_of(page: Page, view: str = "daily") -> str:
    value = page.get_attribute(f".asof[data-view='{view}']", "data-as-of")
    assert value
    return value


def shown_figures(page: Page, scope: str) -> dict[str, int]:
    cells = page.eval_on_selector_all(
        f"{scope} [data-figure]", "els => els.map(e => [e.dataset.figure, e.textContent])"
    )
    return {name: number(text) for name, text in cells if name != "reporting.status"}


def dig(figures: dict[str, Any], dotted: str) -> Any:
    value: Any = figures
    for key in dotted.split("."):
        value = value[key]
    return value


def screenshot(page: Page, name: str) -> None:
    """The screen from the top (`name`.png) and the whole page (`name`-full.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    page.screenshot(path=str(SCREENSHOTS / f"{name}-full.png"), full_page=True)


def test_log_in_drill_down_to_a_town_and_see_the_apis_figures(
    browser: Browser, seeded: Pipeline, viewer: str, tabs: list[Tab]
) -> None:
    p = seeded
    page = tab(tabs, browser, p, None).open()
    page.fill("#token", viewer)
    page.click("#login-form button[type=submit]")
    loaded(page, "000000000000")
    assert page.evaluate("sessionStorage.getItem('ribao.token')") == viewer
    for code in (PROVINCE, CITY, COUNTY, TOWN):  # each row leads one level down
        page.click(f"#children-table tr[data-code='{code}'] a")
        loaded(page, code)
    assert page.inner_text("#crumbs").split(" › ")[:4] == ["全国", "湖南省", "长沙市", "芙蓉区"]

    answer = p.get(
        "/v1/reports/daily", token=viewer, jurisdiction=TOWN, children="true", as_of=as_of(page)
    ).json()
    own = shown_figures(page, "#figures")
    assert set(own) == {name for name, _ in flatten(answer["figures"])}  # every figure of section 4
    assert own["screened.cumulative"] > 0
    for name, value in own.items():
        assert value == dig(answer["figures"], name), name
    rows = {row["jurisdiction"]["code"]: row for row in answer["children"]}
    shown_codes = page.eval_on_selector_all("#children-table tbody tr", "rs => rs.map(r => r.dataset.code)")
    assert sorted(shown_codes) == sorted(rows) == VILLAGES
    for code in shown_codes:
        cells = shown_figures(page, f"#children-table tr[data-code='{code}']")
        assert len(cells) == 11
        for name, value in cells.items():
            assert value == dig(rows[code]["figures"], name), (code, name)
    assert page.inner_text(".asof[data-view='daily']").startswith("数据时点：")
    for view in ("daily", "children", "zero", "series", "text"):
        assert as_of(page, view) == answer["as_of"], view
    screenshot(page, "dashboard-1366x768")


def test_the_children_table_sorts_by_any_column(
    browser: Browser, seeded: Pipeline, viewer: str, tabs: list[Tab]
) -> None:
    page = tab(tabs, browser, seeded, viewer).open(f"#j={TOWN}")
    loaded(page, TOWN)

    def column(name: str) -> list[int]:
        texts: list[str] = page.eval_on_selector_all(
            f"#children-table tbody td[data-figure='{name}']", "tds => tds.map(t => t.textContent)"
        )
        return [number(t) for t in texts]

    before = column("screened.cumulative")
    assert len(set(before)) > 1, "the seeded villages differ in this column"
    header = "#children-table th[data-key='figures.screened.cumulative']"
    page.click(header)
    assert page.get_attribute(header, "aria-sort") == "descending"
    assert column("screened.cumulative") == sorted(before, reverse=True)
    page.click(header)
    assert page.get_attribute(header, "aria-sort") == "ascending"
    assert column("screened.cumulative") == sorted(before)
    name_header = "#children-table th[data-key='jurisdiction.code']"
    page.click(name_header)
    page.click(name_header)
    codes = page.eval_on_selector_all("#children-table tbody tr", "rs => rs.map(r => r.dataset.code)")
    assert codes == sorted(VILLAGES, reverse=True)


def test_the_curve_has_one_point_per_date(
    browser: Browser, seeded: Pipeline, viewer: str, tabs: list[Tab]
) -> None:
    page = tab(tabs, browser, seeded, viewer).open(f"#j={TOWN}")
    loaded(page, TOWN)
    option = page.evaluate(
        "() => { const o = echarts.getInstanceByDom(document.getElementById('chart')).getOption();"
        " return {x: o.xAxis[0].data, series: o.series.map(s => ({name: s.name, data: s.data}))}; }"
    )
    day = today()
    dates = [(day - timedelta(days=n)).isoformat() for n in range(29, -1, -1)]
    assert page.get_attribute("#chart", "data-dates") == ",".join(dates)
    assert option["x"] == [d[5:] for d in dates]
    assert len(option["series"]) == 8  # 4 figures and their 7-date means
    for s in option["series"]:
        assert len(s["data"]) == 30, s["name"]
    series = seeded.get(
        "/v1/reports/series",
        token=viewer,
        jurisdiction=TOWN,
        **{"from": dates[0], "to": dates[-1]},
        as_of=as_of(page, "series"),
    ).json()
    expected = [d["figures"]["screened"]["new"] for d in series["dates"]]
    assert option["series"][0]["data"] == expected and sum(expected) > 0
    means = [d["figures"]["screened"]["new_rolling7"] / 7 for d in series["dates"]]
    assert option["series"][1]["data"] == [round(m * 10) / 10 for m in means]


def test_the_zero_report_pages_through_its_units(
    browser: Browser, seeded: Pipeline, viewer: str, tabs: list[Tab]
) -> None:
    page = tab(tabs, browser, seeded, viewer).open(f"#j={COUNTY}")
    loaded(page, COUNTY)
    pinned = {"jurisdiction": COUNTY, "as_of": as_of(page, "zero"), "limit": 20}
    first = seeded.get("/v1/reports/zero", token=viewer, **pinned, offset=0).json()
    assert first["total"] > 40

    def units() -> list[str]:
        codes: list[str] = page.eval_on_selector_all(
            "#zero-units tbody tr", "rs => rs.map(r => r.dataset.code)"
        )
        return codes

    assert units() == [u["code"] for u in first["units"]]
    assert number(page.inner_text("[data-zero='counts.missing']")) == first["counts"]["missing"]
    assert number(page.inner_text("[data-zero='expected']")) == first["expected"]
    assert page.is_disabled("#zero-prev")
    page.click("#zero-next")
    second = seeded.get("/v1/reports/zero", token=viewer, **pinned, offset=20).json()
    page.wait_for_selector(f"#zero-units tbody tr[data-code='{second['units'][0]['code']}']")
    assert units() == [u["code"] for u in second["units"]]
    pages = -(-first["total"] // 20)
    assert page.inner_text("#zero-page").startswith(f"第 2 / {pages} 页")
    page.click("#zero-prev")
    page.wait_for_selector(f"#zero-units tbody tr[data-code='{first['units'][0]['code']}']")
    assert units() == [u["code"] for u in first["units"]]


def test_the_text_report_copies(browser: Browser, seeded: Pipeline, viewer: str, tabs: list[Tab]) -> None:
    page = tab(tabs, browser, seeded, viewer).open(f"#j={TOWN}")
    loaded(page, TOWN)
    text = seeded.get(
        "/v1/reports/daily", token=viewer, jurisdiction=TOWN, format="text", as_of=as_of(page, "text")
    ).text
    assert page.inner_text("#text-report") == text and "文艺路街道" in text
    page.click("#copy")
    page.wait_for_selector("#copy-status:has-text('已复制')")
    assert page.evaluate("navigator.clipboard.readText()") == text


def test_the_downloads_are_what_is_shown(
    browser: Browser, seeded: Pipeline, viewer: str, tabs: list[Tab]
) -> None:
    page = tab(tabs, browser, seeded, viewer).open(f"#j={TOWN}")
    loaded(page, TOWN)
    pinned = {"jurisdiction": TOWN, "as_of": as_of(page), "children": "true"}

    def download(selector: str) -> bytes:
        with page.expect_download() as info:
            page.click(selector)
        return Path(info.value.path()).read_bytes()

    got = download("button[data-download='daily'][data-format='csv']")
    assert got == seeded.get("/v1/reports/daily", token=viewer, **pinned, format="csv").content
    rows = list(csv.reader(io.StringIO(got.decode("utf-8-sig"))))
    assert len(rows) == 1 + 1 + len(VILLAGES)  # heading, the town, its villages

    book = openpyxl.load_workbook(io.BytesIO(download("button[data-download='daily'][data-format='xlsx']")))
    cells = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    params = {row[1]: row[2] for row in cells if len(row) > 2 and row[1] in ("jurisdiction.code", "as_of")}
    assert params == {"jurisdiction.code": TOWN, "as_of": pinned["as_of"]}  # as of what is shown
    codes = [row[0] for row in cells if row and isinstance(row[0], str) and row[0].startswith(TOWN[:9])]
    assert codes == [TOWN, *VILLAGES]

    zero = openpyxl.load_workbook(io.BytesIO(download("button[data-download='zero'][data-format='xlsx']")))
    listed = [row[0] for row in zero.worksheets[0].iter_rows(values_only=True) if row and row[0] in VILLAGES]
    answer = seeded.get("/v1/reports/zero", token=viewer, jurisdiction=TOWN, as_of=pinned["as_of"]).json()
    assert listed == [u["code"] for u in answer["units"]] and listed  # every listed unit


def test_a_new_event_shows_without_a_reload(
    browser: Browser, seeded: Pipeline, viewer: str, tabs: list[Tab]
) -> None:
    village = VILLAGES[0]
    page = tab(tabs, browser, seeded, viewer).open(f"#j={village}", "?refresh=1")
    first = loaded(page, village)
    assert page.input_value("#date") == today().isoformat()
    assert page.is_visible("#live")
    before = number(page.inner_text("#headline [data-figure='screened.new']"))
    page.evaluate("window.__same_document = true")
    now = datetime.now(ZONE) - timedelta(seconds=30)
    resp = seeded.post(event("screening.registered", village, now, "live", {"category": "overseas"}))
    assert resp.status_code == 202, resp.text
    shown = "document.querySelector(\"#headline [data-figure='screened.new']\").textContent"
    page.wait_for_function(f"Number({shown}.replace(/,/g, '')) === {before + 1}", timeout=30_000)
    page.wait_for_function(f"Number(document.body.dataset.loaded) > {first}")  # a refresh, not the first load
    assert page.evaluate("window.__same_document") is True  # no reload happened


def test_a_bad_token_and_an_unknown_code_are_sentences(
    browser: Browser, seeded: Pipeline, viewer: str, tabs: list[Tab]
) -> None:
    page = tab(tabs, browser, seeded, None).open()
    page.fill("#token", f"rb_{'0' * 16}_{'x' * 43}")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#error:has-text('令牌无效或已过期')")
    assert "{" not in page.inner_text("#error")
    assert page.is_visible("#login")

    page = tab(tabs, browser, seeded, viewer).open("#j=990000000000")
    page.wait_for_selector("#error:has-text('没有代码为 990000000000 的辖区')")
    assert "{" not in page.inner_text("#error") and "unknown_jurisdiction" not in page.content()
    page.fill("#search", "431299")  # typed: a county code that is not in the registry
    page.press("#search", "Enter")
    page.wait_for_selector("#error:has-text('没有代码为 431299000000 的辖区')")


def test_an_unavailable_store_is_a_sentence_and_retried(
    browser: Browser, seeded: Pipeline, viewer: str, tabs: list[Tab], tmp_path: Path
) -> None:
    dead = seeded.variant(tmp_path, RIBAO_CLICKHOUSE_PORT=str(free_port()))  # a store that does not answer
    dead.start("api", f"{dead.api_url}/healthz")
    try:
        t = Tab(browser, dead.api_url, WIDE, viewer)
        tabs.append(t)
        page = t.open(f"#j={TOWN}", "?refresh=1")
        page.wait_for_selector("#error:has-text('数据存储暂时不可用')")
        assert "{" not in page.inner_text("#error")
        with page.expect_request(lambda r: "/v1/reports/daily" in r.url):  # retried on its own
            pass
    finally:
        dead.stop("api")


def test_search_by_name_leads_to_the_jurisdiction(
    browser: Browser, seeded: Pipeline, viewer: str, tabs: list[Tab]
) -> None:
    page = tab(tabs, browser, seeded, viewer).open(f"#j={COUNTY}")
    loaded(page, COUNTY)
    page.fill("#search", "文艺路")
    page.click(f"#search-results a[data-code='{TOWN}']")
    loaded(page, TOWN)
    assert "文艺路街道" in page.inner_text("#j-name")


def test_a_phone_sized_screen(browser: Browser, seeded: Pipeline, viewer: str, tabs: list[Tab]) -> None:
    page = tab(tabs, browser, seeded, viewer, NARROW).open(f"#j={TOWN}")
    loaded(page, TOWN)
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]  # tables scroll inside
    screenshot(page, "dashboard-390x844")


def test_docs_are_served_by_the_api_itself(browser: Browser, seeded: Pipeline, tabs: list[Tab]) -> None:
    t = tab(tabs, browser, seeded, None)
    page = t.page
    page.goto(f"{seeded.api_url}/docs")
    page.wait_for_selector(".swagger-ui .opblock-summary-path:has-text('/v1/reports/daily')")
    assert any(u.endswith("/ui/vendor/swagger-ui/swagger-ui-bundle.js") for u in t.requests)
    assert any(u.endswith("/openapi.json") for u in t.requests)
