"""OpenID Connect end to end: headless Chromium signs in to the served Studio through `st.login` against a small
OpenID provider on loopback (discovery, authorize, token with an RS256 identity token, JWKS), and the person gets
the tenant roles the factory's role map gives its groups: acme, and nothing of globex.

Needs Debian's `chromium` at /usr/bin/chromium (driven by Playwright), as tests/test_studio_e2e.py does.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from infra.control import ControlPlane
from tests.test_studio_e2e import APP, CHROMIUM, _free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
    ),
]

CLIENT_ID, CLIENT_SECRET = "software-factory", secrets.token_urlsafe(16)


class Provider(ThreadingHTTPServer):
    """An OpenID provider that signs in one person (ann, in the group acme-readers) without asking."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.issuer = f"http://127.0.0.1:{self.server_address[1]}"
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})
        self.codes: dict[str, str] = {}  # code -> the nonce of the sign-in it answers
        self.exchanged = 0


class _Handler(BaseHTTPRequestHandler):
    server: Provider

    def _json(self, body: object, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url, base = urlsplit(self.path), self.server.issuer
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/.well-known/openid-configuration":
            self._json({
                "issuer": base, "authorization_endpoint": f"{base}/authorize", "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks", "response_types_supported": ["code"],
                "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            })  # fmt: skip
        elif url.path == "/jwks":
            self._json({"keys": [self.server.key.as_dict(private=False)]})
        elif url.path == "/authorize" and query.get("client_id") == CLIENT_ID:
            code = secrets.token_urlsafe(16)
            self.server.codes[code] = query.get("nonce", "")
            self.send_response(302)
            self.send_header(
                "Location", f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
            )
            self.end_headers()
        else:
            self._json({"error": "invalid_request"}, 400)

    def do_POST(self) -> None:
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        authenticated = self.headers.get("Authorization") == f"Basic {basic}" or (
            form.get("client_id") == CLIENT_ID and form.get("client_secret") == CLIENT_SECRET
        )
        nonce = self.server.codes.pop(form.get("code", ""), None)
        if urlsplit(self.path).path != "/token" or not authenticated or nonce is None:
            self._json({"error": "invalid_grant"}, 400)
            return
        now = int(time.time())
        claims = {
            "iss": self.server.issuer, "aud": CLIENT_ID, "sub": "ann-0001", "iat": now, "exp": now + 300,
            "nonce": nonce, "email": "ann@example.com", "groups": ["acme-readers", "unmapped"],
        }  # fmt: skip
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.server.key)
        self.server.exchanged += 1
        self._json({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300,
                    "id_token": id_token})  # fmt: skip

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def provider() -> Iterator[Provider]:
    server = Provider()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_oidc_sign_in_in_the_browser_maps_groups_to_tenant_roles(provider: Provider, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    home = tmp_path / "home"
    home.mkdir()
    (home / "oidc-roles.toml").write_text('[groups]\n"acme-readers" = ["acme:viewer"]\n')
    ControlPlane(None, home).upsert_product("globex", "secret", revision=1, status="built", trace_id="0" * 32)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(
        f'[auth]\nredirect_uri = "{url}/oauth2callback"\ncookie_secret = "{secrets.token_urlsafe(32)}"\n'
        f'client_id = "{CLIENT_ID}"\nclient_secret = "{CLIENT_SECRET}"\n'
        f'server_metadata_url = "{provider.issuer}/.well-known/openid-configuration"\n'
    )
    env = {**os.environ, "FACTORY_HOME": str(home), "HOME": str(tmp_path)}
    env.pop("FACTORY_OIDC_ROLE_MAP", None)
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", "127.0.0.1",
               "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]  # fmt: skip
    with (tmp_path / "studio.log").open("wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the Studio did not start: {(tmp_path / 'studio.log').read_text()[-2000:]}")
            time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"])
            page = browser.new_page()
            page.set_default_timeout(60_000)
            expect.set_options(timeout=60_000)
            try:
                page.goto(url)
                expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
                assert page.get_by_role("textbox", name="Password").count() == 0  # no local accounts: OIDC only
                page.get_by_role("button", name="Sign in with your identity provider").click()
                expect(page.get_by_text("Signed in as ann@example.com")).to_be_visible()
                page.goto(f"{url}/?tenant=globex")  # her groups give acme only
                expect(page.get_by_text("You are not a member of tenant globex.")).to_be_visible()
                assert page.get_by_text("secret").count() == 0
            except Exception:
                page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
                raise
            finally:
                browser.close()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert provider.exchanged == 1  # one code, exchanged once with the client's secret
    signed = [e for e in ControlPlane(None, home).audit_log(limit=50) if e.action == "auth.oidc"]
    # audited once per browser session (each page load is one), not on every page run
    assert {(e.outcome, e.actor) for e in signed} == {("ok", "ann@example.com")} and 1 <= len(signed) <= 2
