"""The browsable API page at /api/v1/docs: Swagger UI's files come from the swagger-ui-py
package (installed with pip, so pinned and hashed like any dependency) and are served here:
no CDN, and a Content-Security-Policy that runs only these scripts."""

from __future__ import annotations

from pathlib import Path

import swagger_ui
from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

SWAGGER_DIR = Path(swagger_ui.__file__).parent / "static"
OWN_DIR = Path(__file__).parent / "docs_static"
ASSETS = {
    "swagger-ui.css": SWAGGER_DIR / "swagger-ui.css",
    "swagger-ui-bundle.js": SWAGGER_DIR / "swagger-ui-bundle.js",
    "favicon-32x32.png": SWAGGER_DIR / "favicon-32x32.png",
    "init.js": OWN_DIR / "init.js",
}
# Swagger UI sets style attributes from script; everything else is this origin's files.
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Beacon API</title>
<link rel="stylesheet" href="/api/v1/docs/assets/swagger-ui.css">
<link rel="icon" href="/api/v1/docs/assets/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/api/v1/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/v1/docs/assets/init.js"></script>
</body></html>
"""


def add_docs_routes(app: FastAPI) -> None:
    @app.get("/api/v1/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(PAGE, headers={"content-security-policy": DOCS_CSP})

    @app.get("/api/v1/docs/assets/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> FileResponse:
        if name not in ASSETS:
            raise HTTPException(404, f"no such file: {name}")
        return FileResponse(ASSETS[name], headers={"cache-control": "public, max-age=3600"})
