"""Where the browser assets are: the page's own files (static/, in the package)
and the pinned npm packages it uses (ECharts, Swagger UI), installed into
`node_modules/` by deploy/bootstrap.sh (`npm ci`)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.config import REPO_DIR

STATIC_DIR = Path(__file__).resolve().parent / "static"

#: URL prefix -> folder under the npm packages' root: only these are served
VENDOR = {
    "echarts": Path("echarts/dist"),
    "swagger-ui": Path("swagger-ui-dist"),
}

#: the files the page and /docs load from VENDOR (checked at start-up)
REQUIRED = (
    Path("echarts/dist/echarts.common.min.js"),
    Path("swagger-ui-dist/swagger-ui-bundle.js"),
    Path("swagger-ui-dist/swagger-ui.css"),
)


class AssetsMissing(RuntimeError):
    """The npm packages are not installed where RIBAO_ASSETS_DIR says."""


class AssetSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RIBAO_", extra="ignore", frozen=True)

    #: the folder `npm ci` filled (the repository's node_modules/)
    assets_dir: Path = REPO_DIR / "node_modules"


def vendor_dirs(settings: AssetSettings | None = None) -> dict[str, Path]:
    """URL prefix -> folder of each npm package served; raises AssetsMissing
    naming the variable and the fix when a file the pages load is absent."""
    root = (settings or AssetSettings()).assets_dir
    missing = [str(root / path) for path in REQUIRED if not (root / path).is_file()]
    if missing:
        raise AssetsMissing(
            f"RIBAO_ASSETS_DIR={root}: {', '.join(missing)} missing; "
            "run deploy/bootstrap.sh (npm ci) or point RIBAO_ASSETS_DIR at an installed node_modules"
        )
    return {prefix: root / path for prefix, path in VENDOR.items()}
