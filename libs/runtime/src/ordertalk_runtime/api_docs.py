"""Swagger UI at ``/docs`` from the service itself: the assets the fastapi-offline package ships, no CDN."""

from __future__ import annotations

import html
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
ASSETS_URL = "/docs-assets"  # swagger-ui-bundle.js, swagger-ui.css, favicon.png
INIT_URL = f"{DOCS_URL}/swagger-init.js"
# Scripts and styles from this origin only (Swagger UI sets inline style attributes); "Try it out" calls it.
DOCS_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
# No inline script (the CSP forbids it): the page names its document in a data attribute.
INIT_JS = """\
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""


def assets_dir() -> Path:
    """Where the installed fastapi-offline package keeps Swagger UI's files."""
    return Path(str(files("fastapi_offline") / "static"))


def docs_page(title: str, openapi_url: str, root: str = "") -> str:
    """The HTML of the Swagger UI page for the document at ``openapi_url``."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)} — API documentation</title>
<link rel="icon" href="{root}{ASSETS_URL}/favicon.png">
<link rel="stylesheet" href="{root}{ASSETS_URL}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{html.escape(root + openapi_url)}"></div>
<script src="{root}{ASSETS_URL}/swagger-ui-bundle.js"></script>
<script src="{root}{INIT_URL}"></script>
</body>
</html>
"""


def install_api_docs(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` with its assets; the app must be created with ``docs_url=None``."""
    if app.docs_url is not None or app.redoc_url is not None:
        raise ValueError("create the FastAPI app with docs_url=None and redoc_url=None: install_api_docs serves /docs")
    openapi_url = app.openapi_url or "/openapi.json"
    headers = {"Content-Security-Policy": DOCS_CSP}

    async def docs(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", ""))
        return HTMLResponse(docs_page(app.title, openapi_url, root), headers=headers)

    async def init() -> Response:
        return Response(INIT_JS, media_type="text/javascript", headers=headers)

    app.add_api_route(DOCS_URL, docs, methods=["GET"], include_in_schema=False)
    app.add_api_route(INIT_URL, init, methods=["GET"], include_in_schema=False)
    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="docs-assets")
