"""GET /healthz, /docs and /openapi.json with the reference's examples."""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from tests.support.servers import LiveServer


def test_healthz(server: LiveServer) -> None:
    response = server.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] in {"sqlite", "postgresql"}
    assert body["version"]


def test_openapi_lists_the_three_endpoints_with_the_reference_examples(
    server: LiveServer,
) -> None:
    spec = server.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ["/api/v1/sendsms", "/api/v1/contact", "/api/v1/clicTocall"]:
        assert "post" in paths[path], path
    # Aliases answer but are not documented twice.
    assert not {"/api/v1/sendsms.php", "/api/v1/contact.php", "/api/v1/clic.php"} & set(paths)

    def example(path: str) -> dict[str, object]:
        body = paths[path]["post"]["requestBody"]["content"]["application/json"]
        return body["example"]  # type: ignore[no-any-return]

    sms = example("/api/v1/sendsms")
    assert sms["header"] == {"login": "your-email@example.com", "accessKey": "your-access-key"}
    assert sms["messages"][0] == {  # type: ignore[index]
        "phone_number": "+33612345678",
        "message": "Hello from InSim API [Lien_Tracking]",
        "url": "https://example.com/",
        "priorite": 1,
        "date_to_send": "2025-10-29 10:16:10",
    }
    assert example("/api/v1/contact")["contacts"][1]["adress"] == (  # type: ignore[index]
        "123 Peace Street, Paris"
    )
    assert example("/api/v1/clicTocall")["header"]["type"] == "clicToCall"  # type: ignore[index]
    sms_answer = paths["/api/v1/sendsms"]["post"]["responses"]["200"]
    assert "id_sms_api" in str(sms_answer)


class PageParts(HTMLParser):
    """The URLs a page makes the browser load, and its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            if found.get("src"):
                self.urls.append(str(found["src"]))
            else:
                self._in_inline_script = True
        elif tag == "link" and found.get("href"):
            self.urls.append(str(found["href"]))
        elif tag == "redoc" and found.get("spec-url"):
            self.urls.append(str(found["spec-url"]))

    def handle_endtag(self, tag: str) -> None:
        self._in_inline_script = False

    def handle_data(self, data: str) -> None:
        if self._in_inline_script:
            self.inline.append(data)


def policy(header: str) -> dict[str, list[str]]:
    parts = (p.split() for p in header.split(";") if p.strip())
    return {name: values for name, *values in parts}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_pages_load_only_same_origin_files(server: LiveServer, page: str) -> None:
    response = server.get(page)
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    parts = PageParts()
    parts.feed(response.text)
    scripts = [u for u in parts.urls if u.endswith(".js")]
    assert scripts and (page == "/redoc" or any(u.endswith(".css") for u in parts.urls))
    origin = urlsplit(server.url)[:2]
    for url in parts.urls:
        absolute = urlsplit(urljoin(server.url + page, url))
        assert absolute[:2] == origin, url
        assert server.get(absolute.path).status_code == 200, url
    if page == "/docs":
        assert "url: '/openapi.json'" in response.text  # the spec, from here too
    # Nothing from elsewhere even if the page changed: the policy allows 'self'
    # and the page's own inline scripts by hash, nothing else.
    rules = policy(response.headers["content-security-policy"])
    allowed = {"'self'", "'none'", "'unsafe-inline'", "data:", "blob:"}
    for name, values in rules.items():
        assert all(v in allowed or v.startswith("'sha256-") for v in values), (name, values)
    assert rules["default-src"] == ["'self'"] and rules["frame-ancestors"] == ["'none'"]
    hashes = {
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in parts.inline
    }
    assert set(rules["script-src"]) == {"'self'"} | hashes
