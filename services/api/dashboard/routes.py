"""`GET /` (the dashboard), `GET /docs` (Swagger UI from the API itself), and
the static files both load: `/ui/*` (the page's HTML, JS module and CSS) and
`/ui/vendor/<package>/<file>` (the files the pages use from the pinned npm
packages, and nothing else of them). Static files are served
gzipped to browsers that accept it (ECharts is 715 kB, 240 kB gzipped)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from services.api.dashboard.assets import STATIC_DIR, AssetSettings, vendor_dirs


class ListedFiles(StaticFiles):
    """StaticFiles that serves only the listed file names of its folder."""

    def __init__(self, directory: str, names: frozenset[str]) -> None:
        super().__init__(directory=directory)
        self.names = names

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path not in self.names:
            raise HTTPException(status_code=404)
        return await super().get_response(path, scope)


def page(timezone: str) -> str:
    """index.html with the deployment's reporting zone (the page's "today")."""
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return html.replace("{{timezone}}", timezone)


def install(app: FastAPI, timezone: str, settings: AssetSettings | None = None) -> None:
    """Adds the dashboard and /docs to `app` (created with `docs_url=None`)."""
    vendors = vendor_dirs(settings)
    html = page(timezone)

    @app.get("/", include_in_schema=False)
    async def dashboard() -> HTMLResponse:
        return HTMLResponse(html, headers={"Cache-Control": "no-cache"})

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} – Swagger UI",
            swagger_js_url="/ui/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/ui/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/ui/favicon.svg",
        )

    for prefix, (folder, names) in vendors.items():
        files = ListedFiles(str(folder), names)
        app.mount(f"/ui/vendor/{prefix}", GZipMiddleware(files), name=f"vendor-{prefix}")
    # index.html only through `/` (with the zone filled in)
    page_files = ListedFiles(str(STATIC_DIR), frozenset({"app.js", "style.css", "favicon.svg"}))
    app.mount("/ui", GZipMiddleware(page_files), name="dashboard")
