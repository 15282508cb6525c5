"""The web service's own HTTP surface: pages, /config.js, dev sign-in, security headers."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from ordertalk_runtime.auth import AuthSettings, TokenCodec
from ordertalk_web.bootstrap import build_app
from ordertalk_web.settings import WebSettings

SECRET = "unit-test-secret-0123456789abcdef"


def _settings(**overrides: object) -> WebSettings:
    values: dict[str, object] = {
        "messaging_public_url": "http://api.example.test:9001/",
        "projections_public_url": "http://api.example.test:9002",
        "notifier_public_url": "https://push.example.test",
        "dev_signin": True,
        "auth": AuthSettings(jwt_secret=SECRET),
    }
    values.update(overrides)
    return WebSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def client() -> TestClient:
    return TestClient(build_app(_settings()))


def test_config_module_exports_the_api_urls(client: TestClient) -> None:
    response = client.get("/config.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-store"
    text = response.text
    assert text.startswith("export default Object.freeze(") and text.rstrip().endswith(");")
    config = json.loads(text.removeprefix("export default Object.freeze(").rstrip().removesuffix(");"))
    assert config == {
        "devSignin": True,
        "messagingUrl": "http://api.example.test:9001",
        "notifierUrl": "https://push.example.test",
        "projectionsUrl": "http://api.example.test:9002",
        "storeName": "Demo Store",
    }


def test_config_cannot_break_out_of_the_script() -> None:
    client = TestClient(build_app(_settings(store_name="</script><script>alert(1)</script>")))
    assert "</script>" not in client.get("/config.js").text


def test_settings_fall_back_to_the_stack_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESSAGING_URL", "http://127.0.0.1:18001")
    monkeypatch.setenv("PROJECTIONS_URL", "http://127.0.0.1:18002")
    monkeypatch.setenv("NOTIFIER_URL", "http://127.0.0.1:18003")
    monkeypatch.setenv("PROJECTIONS_PUBLIC_URL", "https://read.example.test")
    monkeypatch.delenv("MESSAGING_PUBLIC_URL", raising=False)
    monkeypatch.delenv("NOTIFIER_PUBLIC_URL", raising=False)
    monkeypatch.setenv("WEB_DEV_SIGNIN", "true")
    settings = WebSettings()
    assert settings.messaging_public_url == "http://127.0.0.1:18001"
    assert settings.projections_public_url == "https://read.example.test"
    assert settings.notifier_public_url == "http://127.0.0.1:18003"
    assert settings.dev_signin is True


def test_dev_signin_is_off_unless_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEB_DEV_SIGNIN", raising=False)
    assert WebSettings().dev_signin is False
    client = TestClient(build_app(_settings(dev_signin=False)))
    assert client.post("/dev/token", json={"subject": "admin-1"}).status_code == 404
    assert client.get("/dev/personas").status_code == 404
    assert client.get("/").status_code == 200  # the page explains that sign-in happens elsewhere


@pytest.mark.parametrize(
    ("subject", "role", "name", "email"),
    [("admin-1", "admin", "Admin Admin", None), ("customer-1", "customer", "Jane Doe", "jane@example.com")],
)
def test_dev_signin_mints_a_token_the_apis_accept(
    client: TestClient, subject: str, role: str, name: str, email: str | None
) -> None:
    response = client.post("/dev/token", json={"subject": subject})
    assert response.status_code == 200
    body = response.json()
    principal = TokenCodec(AuthSettings(jwt_secret=SECRET)).verify(body["token"])
    assert (principal.subject, principal.role, principal.display_name, principal.email) == (subject, role, name, email)
    assert body["user"]["role"] == role


def test_dev_token_is_signed_with_the_configured_secret(client: TestClient) -> None:
    token = client.post("/dev/token", json={"subject": "admin-1"}).json()["token"]
    from ordertalk_runtime.auth import InvalidToken

    with pytest.raises(InvalidToken):
        TokenCodec(AuthSettings(jwt_secret="another-secret-0123456789abcdef-xyz")).verify(token)


def test_unknown_persona_is_a_404_problem(client: TestClient) -> None:
    response = client.post("/dev/token", json={"subject": "mallory"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.post("/dev/token", json={}).status_code == 422


def test_personas_list_the_admin_and_demo_customers(client: TestClient) -> None:
    people = client.get("/dev/personas").json()
    assert {"subject": "admin-1", "role": "admin", "name": "Admin Admin", "email": None} in people
    assert any(p["subject"] == "customer-2" and p["role"] == "customer" for p in people)


@pytest.mark.parametrize(
    ("path", "script"),
    [
        ("/", "signin.js"),
        ("/admin/messages", "admin-messages.js"),
        ("/admin/orders", "admin-orders.js"),
        ("/admin/orders/ord-42", "admin-order.js"),
        ("/store/messages", "store-messages.js"),
        ("/store/orders/ord-42", "store-order.js"),
    ],
)
def test_pages_load_their_module(client: TestClient, path: str, script: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert f'<script type="module" src="/static/js/{script}"></script>' in response.text
    assert client.get(f"/static/js/{script}").status_code == 200


def test_section_roots_redirect(client: TestClient) -> None:
    assert client.get("/admin", follow_redirects=False).headers["location"] == "/admin/messages"
    assert client.get("/store", follow_redirects=False).headers["location"] == "/store/messages"


def test_security_headers_allow_only_self_and_the_apis(client: TestClient) -> None:
    headers = client.get("/admin/messages").headers
    csp = dict(part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";"))
    assert csp["script-src"] == "'self'"
    assert csp["default-src"] == "'self'"
    assert csp["connect-src"].split() == [
        "'self'",
        "http://api.example.test:9001",
        "http://api.example.test:9002",
        "https://push.example.test",
    ]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert client.get("/static/css/app.css").headers["content-security-policy"]


def test_static_files_stay_inside_the_static_folder(client: TestClient) -> None:
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/%2e%2e/app.py").status_code == 404


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/admin/orders/ord-42/messages", "/admin/orders/ord-42#messages"),
        ("/admin/orders/ord%2042%3F/messages", "/admin/orders/ord%2042%3F#messages"),
    ],
)
def test_the_old_email_link_opens_the_orders_messages_tab(client: TestClient, path: str, target: str) -> None:
    response = client.get(path, headers={"Accept": BROWSER_ACCEPT}, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == target
    assert client.get(path).status_code == 200  # the order page (the fragment stays in the browser)


@pytest.mark.parametrize(
    ("path", "home"),
    [
        ("/admin/orders/ord-42/nothing", "/admin/messages"),
        ("/admin/no-such-page", "/admin/messages"),
        ("/store/orders/ord-42/messages/extra", "/store/messages"),
        ("/store/<script>alert(1)</script>", "/store/messages"),
    ],
)
def test_a_browser_gets_an_html_page_for_a_missing_page(client: TestClient, path: str, home: str) -> None:
    response = client.get(path, headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"]
    assert "<h1>Page not found</h1>" in response.text
    assert f'<a href="{home}">' in response.text
    assert "<script>" not in response.text and "alert" not in response.text  # nothing of the request echoed


@pytest.mark.parametrize("accept", [None, "application/json", "*/*"])
def test_data_clients_keep_problem_json_for_a_missing_page(client: TestClient, accept: str | None) -> None:
    headers = {"Accept": accept} if accept else {}
    for path in ("/admin/no-such-page", "/store/orders/a/b"):
        response = client.get(path, headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == 404


def test_other_paths_keep_problem_json_even_for_a_browser(client: TestClient) -> None:
    for path in ("/nothing", "/static/js/nothing.js", "/dev/nothing"):
        response = client.get(path, headers={"Accept": BROWSER_ACCEPT})
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
    unknown = client.post("/dev/token", json={"subject": "mallory"}, headers={"Accept": BROWSER_ACCEPT})
    assert unknown.headers["content-type"].startswith("application/problem+json")
