"""python -m bench dashboard [--url URL] [--token T] [--jurisdiction CODE] [--runs N] [--out PATH]

The dashboard's first paint on a running stack (default: the dev stack of
`deploy/up.sh`, its admin token from $RIBAO_HOME/dev-token), measured in
Debian's Chromium driven by Playwright, each run in a fresh browser context
(an empty cache): the Performance API's first-contentful-paint, the page's
own marks `ribao:figures` (the 日报告 figures drawn) and `ribao:curve` (the
curve drawn), and the bytes of the JS and CSS it loaded (over the wire and
decoded). Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from services.common.config import REPO_DIR

#: what the page records (see services/api/dashboard/static/app.js)
MARKS = ("ribao:figures", "ribao:curve")

_MEASURE = """() => {
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  const mark = (name) => performance.getEntriesByName(name)[0]?.startTime ?? null;
  const nav = performance.getEntriesByType('navigation')[0];
  const assets = performance.getEntriesByType('resource')
    .filter((r) => /\\.(m?js|css)(\\?|$)/.test(r.name))
    .map((r) => ({url: r.name, transfer: r.transferSize, encoded: r.encodedBodySize,
                  decoded: r.decodedBodySize}));
  const daily = performance.getEntriesByType('resource').find((r) => r.name.includes('/v1/reports/daily?'));
  return {fcp: paint ? paint.startTime : null, figures: mark('ribao:figures'), curve: mark('ribao:curve'),
          daily: daily ? [daily.startTime, daily.responseEnd] : null,
          html_in: nav ? nav.responseEnd : null,
          html: nav ? nav.encodedBodySize : null, assets};
}"""


@dataclass
class Run:
    fcp_ms: float | None
    figures_ms: float | None
    curve_ms: float | None
    html_bytes: int | None
    #: when the page asked for the daily report, and when its answer had arrived (ms)
    daily_request_ms: list[float] | None = None
    #: when the HTML had arrived (ms)
    html_in_ms: float | None = None
    assets: list[dict[str, Any]] = field(default_factory=list)


def default_token() -> str | None:
    token = os.environ.get("RIBAO_BENCH_TOKEN")
    if token:
        return token
    path = Path(os.environ.get("RIBAO_HOME", REPO_DIR / ".stack")) / "dev-token"
    return path.read_text().strip() if path.is_file() else None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench dashboard", description=__doc__)
    port = os.environ.get("RIBAO_API_PORT", "8080")
    p.add_argument("--url", default=f"http://127.0.0.1:{port}", help="the API (default: the dev stack's)")
    p.add_argument("--token", default=default_token(), help="viewer or admin token (env RIBAO_BENCH_TOKEN)")
    p.add_argument("--jurisdiction", default="000000000000", help="the view opened (default: the country)")
    p.add_argument("--runs", type=int, default=5, help="page loads, each with an empty cache")
    p.add_argument("--chromium", default=os.environ.get("RIBAO_CHROMIUM") or shutil.which("chromium"))
    p.add_argument("--out", type=Path, help="results file (JSON)")
    p.add_argument("--note", help="a remark for the results, e.g. what else ran on the machine")
    return p


def measure(url: str, token: str, jurisdiction: str, runs: int, chromium: str) -> list[Run]:
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium)
        try:
            for _ in range(runs):
                context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
                context.add_init_script(f"sessionStorage.setItem('ribao.token', {token!r})")
                page = context.new_page()
                page.goto(f"{url}/#j={jurisdiction}")
                page.wait_for_function(
                    "performance.getEntriesByName('ribao:figures').length > 0", timeout=60_000
                )
                # a curve that failed (its error is on the page) is reported as missing
                with contextlib.suppress(Exception):
                    page.wait_for_function(
                        "performance.getEntriesByName('ribao:curve').length > 0", timeout=30_000
                    )
                page.wait_for_load_state("networkidle")
                m = page.evaluate(_MEASURE)
                out.append(
                    Run(m["fcp"], m["figures"], m["curve"], m["html"], m["daily"], m["html_in"], m["assets"])
                )
                context.close()
        finally:
            browser.close()
    return out


def summary(runs: list[Run]) -> dict[str, Any]:
    def stat(values: list[float | None]) -> dict[str, float | None]:
        got = [v for v in values if v is not None]
        if not got:
            return {"median": None, "max": None}
        return {"median": round(statistics.median(got), 1), "max": round(max(got), 1)}

    first = runs[0]
    js = [a for a in first.assets if ".js" in a["url"]]
    css = [a for a in first.assets if ".css" in a["url"]]
    return {
        "runs": len(runs),
        "first_contentful_paint_ms": stat([r.fcp_ms for r in runs]),
        "figures_drawn_ms": stat([r.figures_ms for r in runs]),
        "curve_drawn_ms": stat([r.curve_ms for r in runs]),
        "html_in_ms": stat([r.html_in_ms for r in runs]),
        "daily_request_sent_ms": stat([r.daily_request_ms[0] if r.daily_request_ms else None for r in runs]),
        "daily_answer_in_ms": stat([r.daily_request_ms[1] if r.daily_request_ms else None for r in runs]),
        "html_bytes": first.html_bytes,
        "js_bytes": {"transfer": sum(a["transfer"] for a in js), "decoded": sum(a["decoded"] for a in js)},
        "css_bytes": {"transfer": sum(a["transfer"] for a in css), "decoded": sum(a["decoded"] for a in css)},
        "assets": first.assets,
    }


def main(argv: list[str]) -> None:
    args = parser().parse_args(argv)
    if not args.token:
        sys.exit("no token: pass --token, set RIBAO_BENCH_TOKEN, or start the dev stack (deploy/up.sh)")
    if not args.chromium:
        sys.exit("chromium not found: apt-get install chromium, or pass --chromium / set RIBAO_CHROMIUM")
    load_before = os.getloadavg()[0]
    runs = measure(args.url, args.token, args.jurisdiction, args.runs, args.chromium)
    load = {"before": round(load_before, 1), "after": round(os.getloadavg()[0], 1), "cores": os.cpu_count()}
    each = [asdict(r) for r in runs]
    result = summary(runs) | {
        "url": args.url,
        "jurisdiction": args.jurisdiction,
        "load_average_1m": load,
        "note": args.note,
        "each": each,
    }
    timings = ("html_in_ms", "daily_request_sent_ms", "daily_answer_in_ms")
    for key in ("first_contentful_paint_ms", "figures_drawn_ms", "curve_drawn_ms", *timings):
        print(f"{key:28} median {result[key]['median']} ms, max {result[key]['max']} ms")
    before, after, cores = load["before"], load["after"], load["cores"]
    print(f"{'load average, 1 min':28} {before} before, {after} after ({cores} cores)")
    for kind in ("js_bytes", "css_bytes"):
        got = result[kind]
        print(f"{kind:28} {got['transfer']:,} B over the wire, {got['decoded']:,} B decoded")
    for a in result["assets"]:
        print(f"  {a['url']}: {a['transfer']:,} B over the wire, {a['decoded']:,} B decoded")
    if args.out:
        args.out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
        print(f"written to {args.out}")
