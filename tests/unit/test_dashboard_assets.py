"""The dashboard's routes and assets without the stack: what `/`, `/docs` and
the static folders serve, and the error when the npm packages are missing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.api.dashboard import routes
from services.api.dashboard.assets import STATIC_DIR, AssetSettings, AssetsMissing, vendor_dirs

#: a URL that would leave the deployment
OUTSIDE = re.compile(r"""(https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", re.IGNORECASE)


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI(docs_url=None, redoc_url=None)
    routes.install(app, "Asia/Urumqi")
    return TestClient(app)


def test_the_page_names_the_reporting_zone_and_loads_only_its_own_files(client: TestClient) -> None:
    resp = client.get("/")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    assert 'data-timezone="Asia/Urumqi"' in resp.text and "{{" not in resp.text
    sources = re.findall(r'(?:src|href)="([^"]+)"', resp.text)
    assert sources and all(s.startswith("/ui/") for s in sources), sources
    for src in sources:
        assert client.get(src).status_code == 200, src
    assert client.get("/ui/index.html").status_code == 404  # only through / (with the zone)


def test_no_file_of_the_page_names_an_outside_address() -> None:
    for path in STATIC_DIR.iterdir():
        if path.suffix in (".html", ".js", ".css"):
            text = path.read_text(encoding="utf-8")
            assert not OUTSIDE.search(text), (path.name, OUTSIDE.search(text))


def test_docs_load_swagger_ui_from_the_api(client: TestClient) -> None:
    html = client.get("/docs").text
    assert "/ui/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "/ui/vendor/swagger-ui/swagger-ui.css" in html
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert client.get("/ui/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/redoc").status_code == 404


def test_vendor_files_are_gzipped_and_confined_to_their_package(client: TestClient) -> None:
    resp = client.get("/ui/vendor/echarts/echarts.common.min.js", headers={"accept-encoding": "gzip"})
    assert resp.status_code == 200 and resp.headers["content-encoding"] == "gzip"
    assert resp.num_bytes_downloaded < len(resp.content) / 2  # compressed on the wire
    assert client.get("/ui/vendor/echarts/../package.json").status_code == 404
    assert client.get("/ui/vendor/echarts/%2e%2e/package.json").status_code == 404
    assert client.get("/ui/vendor/zrender/package.json").status_code == 404
    # only the files the pages use: swagger-ui-dist's own page would load an example from outside
    assert client.get("/ui/vendor/swagger-ui/index.html").status_code == 404
    assert client.get("/ui/vendor/echarts/echarts.min.js").status_code == 404


def test_missing_packages_name_the_variable(tmp_path: Path) -> None:
    with pytest.raises(AssetsMissing, match=r"RIBAO_ASSETS_DIR=.*npm ci"):
        vendor_dirs(AssetSettings(assets_dir=tmp_path))
