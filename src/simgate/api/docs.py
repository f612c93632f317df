"""/docs (Swagger UI) and /redoc, with their scripts served from the package.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, by major version
only (`swagger-ui-dist@5`): whoever could change what that address serves
would run script on the dashboard's origin, next to its session cookie. Here
the files ship in `static/` (versions and licences in static/README.md) and a
Content-Security-Policy lets the pages load nothing from anywhere else.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
ASSETS = "/docs/assets"
FAVICON = f"{ASSETS}/swagger-ui/favicon-32x32.png"

# Swagger UI and ReDoc set styles from script (style-src 'unsafe-inline');
# ReDoc runs its search index in a worker made from a blob: URL.
_POLICY = (
    "default-src 'self'; script-src 'self'{scripts}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def install(app: FastAPI) -> None:
    """Add /docs, /redoc and their files; the app must be built with docs_url=None."""
    assert app.openapi_url is not None
    title = f"{app.title} API"
    swagger = bytes(
        get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=title,
            swagger_js_url=f"{ASSETS}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=FAVICON,
            oauth2_redirect_url=None,
            # The default validator badge is an image from validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        ).body
    )
    redoc = bytes(
        get_redoc_html(
            openapi_url=app.openapi_url,
            title=title,
            redoc_js_url=f"{ASSETS}/redoc/redoc.standalone.js",
            redoc_favicon_url=FAVICON,
            with_google_fonts=False,
        ).body
    )

    swagger_headers, redoc_headers = _headers(swagger), _headers(redoc)

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger, headers=swagger_headers)

    @app.get("/redoc", include_in_schema=False)
    async def redoc_page() -> HTMLResponse:
        return HTMLResponse(redoc, headers=redoc_headers)

    app.mount(ASSETS, StaticFiles(directory=STATIC), name="docs-assets")


def _headers(page: bytes) -> dict[str, str]:
    """Headers of a page: its CSP allows the page's own inline scripts by hash
    (Swagger UI's start-up call is inline in FastAPI's page), nothing else inline."""
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(page)
    )
    return {
        "Content-Security-Policy": _POLICY.format(scripts=hashes),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
