"""GET /healthz, /docs and /openapi.json with the reference's examples."""

from __future__ import annotations

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


def test_docs_page(server: LiveServer) -> None:
    response = server.get("/docs")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "/openapi.json" in response.text
