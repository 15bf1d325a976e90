"""Where the browser assets are: the page's own files (static/, in the package)
and the pinned npm packages it uses (ECharts, Swagger UI), installed into
`node_modules/` by deploy/bootstrap.sh (`npm ci`)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.config import REPO_DIR

STATIC_DIR = Path(__file__).resolve().parent / "static"

#: URL prefix -> (folder under the npm packages' root, the only files served from it):
#: nothing else of a package is reachable (swagger-ui-dist's own index.html would
#: load an example document from outside)
VENDOR: dict[str, tuple[Path, frozenset[str]]] = {
    "echarts": (Path("echarts/dist"), frozenset({"echarts.common.min.js"})),
    "swagger-ui": (Path("swagger-ui-dist"), frozenset({"swagger-ui-bundle.js", "swagger-ui.css"})),
}


class AssetsMissing(RuntimeError):
    """The npm packages are not installed where RIBAO_ASSETS_DIR says."""


class AssetSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RIBAO_", extra="ignore", frozen=True)

    #: the folder `npm ci` filled (the repository's node_modules/)
    assets_dir: Path = REPO_DIR / "node_modules"


def vendor_dirs(settings: AssetSettings | None = None) -> dict[str, tuple[Path, frozenset[str]]]:
    """URL prefix -> (folder, files served) of each npm package; raises
    AssetsMissing naming the variable and the fix when one of those files is absent."""
    root = (settings or AssetSettings()).assets_dir
    missing = [
        str(root / folder / name)
        for folder, names in VENDOR.values()
        for name in sorted(names)
        if not (root / folder / name).is_file()
    ]
    if missing:
        raise AssetsMissing(
            f"RIBAO_ASSETS_DIR={root}: {', '.join(missing)} missing; "
            "run deploy/bootstrap.sh (npm ci) or point RIBAO_ASSETS_DIR at an installed node_modules"
        )
    return {prefix: (root / folder, names) for prefix, (folder, names) in VENDOR.items()}
