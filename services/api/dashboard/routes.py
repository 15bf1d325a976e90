"""`GET /` (the dashboard), `GET /docs` (Swagger UI from the API itself), and
the static files both load: `/ui/*` (the page's HTML, JS module and CSS) and
`/ui/vendor/<package>/*` (the pinned npm packages). Static files are served
gzipped to browsers that accept it (ECharts is 715 kB, 240 kB gzipped)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles

from services.api.dashboard.assets import STATIC_DIR, AssetSettings, vendor_dirs


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

    for prefix, folder in vendors.items():
        app.mount(
            f"/ui/vendor/{prefix}", GZipMiddleware(StaticFiles(directory=folder)), name=f"vendor-{prefix}"
        )
    app.mount("/ui", GZipMiddleware(StaticFiles(directory=STATIC_DIR)), name="dashboard")
