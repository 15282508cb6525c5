"""RS256/ES256 tokens verified against a JWKS served by a local HTTP server, through a key rotation."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from tests.messaging.conftest import RunningService, service_env, serving

from ordertalk_runtime.auth import AuthSettings, InvalidToken, Principal, TokenCodec
from ordertalk_runtime.kafka import KafkaSettings


@dataclass
class SigningKey:
    """A private key of the identity provider, its key id and algorithm."""

    kid: str
    algorithm: str
    private: Any

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK."""
        codec = RSAAlgorithm if self.algorithm == "RS256" else ECAlgorithm
        jwk: dict[str, Any] = json.loads(codec.to_jwk(self.private.public_key()))
        return jwk | {"kid": self.kid, "use": "sig", "alg": self.algorithm}

    def token(self, subject: str = "staff-1", role: str = "admin") -> str:
        """A token of the provider for ordertalk."""
        now = int(time.time())
        claims: dict[str, Any] = {"sub": subject, "role": role, "name": subject, "iss": "ordertalk"}
        claims |= {"aud": "ordertalk", "iat": now, "exp": now + 600}
        return jwt.encode(claims, self.private, algorithm=self.algorithm, headers={"kid": self.kid})


def rsa_key(kid: str) -> SigningKey:
    return SigningKey(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))


def ec_key(kid: str) -> SigningKey:
    return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))


@dataclass
class JwksServer:
    """A JWKS endpoint on a loopback port; ``publish`` rotates the keys, ``delay`` slows the next answers."""

    keys: list[SigningKey]
    delay: float = 0.0
    fetches: int = 0
    asked: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"

    def publish(self, *keys: SigningKey) -> None:
        with self.lock:
            self.keys = list(keys)

    def document(self) -> bytes:
        with self.lock:
            self.fetches += 1
            return json.dumps({"keys": [k.public_jwk() for k in self.keys]}).encode()


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    state = JwksServer([rsa_key("key-1")])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's API
            state.asked += 1
            time.sleep(state.delay)  # the provider is slow (this server's own thread, not the service's loop)
            body = state.document()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    state.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # port 0: the kernel picks a free one
    thread = threading.Thread(target=state.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.server.shutdown()
        state.server.server_close()


def codec_on(url: str) -> TokenCodec:
    return TokenCodec(AuthSettings(jwks_url=url, jwks_refresh_cooldown_seconds=0))


async def test_tokens_of_a_rotated_key_verify_and_the_retired_key_is_refused_after_the_refresh(
    jwks: JwksServer,
) -> None:
    codec = codec_on(jwks.url)
    first = jwks.keys[0]
    assert (await codec.verify_async(first.token("a"))).subject == "a"
    assert jwks.fetches == 1
    assert codec.verify(first.token("b")).subject == "b"  # cached: no fetch, no I/O
    assert jwks.fetches == 1

    second = ec_key("key-2")
    jwks.publish(second)  # the provider rotates: only the new key is published
    assert (await codec.verify_async(second.token("c"))).subject == "c"  # an unknown key id: fetched again
    assert jwks.fetches == 2
    with pytest.raises(InvalidToken):
        await codec.verify_async(first.token("d"))  # the retired key id is not in the refreshed set


async def test_hs256_tokens_still_verify_beside_a_jwks_and_an_unlisted_algorithm_is_refused(jwks: JwksServer) -> None:
    codec = codec_on(jwks.url)
    assert (await codec.verify_async(codec.mint(Principal("admin", "local", "Local")))).subject == "local"
    none_token = jwt.encode({"sub": "x", "role": "admin"}, key="", algorithm="none")
    with pytest.raises(InvalidToken):
        codec.verify(none_token)
    only_rs = TokenCodec(AuthSettings(jwks_url=jwks.url, jwt_algorithms="RS256"))
    with pytest.raises(InvalidToken):  # HS256 is off when the algorithms are listed without it
        only_rs.verify(only_rs.mint(Principal("admin", "local", "Local")))


@pytest.fixture
def jwks_service(
    jwks: JwksServer, kafka_settings: KafkaSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    """A messaging process verifying tokens against the test's JWKS (refreshed for every key id it does not know)."""
    var = tmp_path_factory.mktemp("messaging-jwks")
    env = service_env(kafka_settings, var / "es.sqlite", AUTH_JWKS_URL=jwks.url)
    env |= {"AUTH_JWKS_REFRESH_COOLDOWN_SECONDS": "0"}
    with serving("messaging-jwks", var, env) as service:
        yield service


async def test_the_service_follows_a_key_rotation_without_blocking_its_event_loop(
    jwks: JwksServer, jwks_service: RunningService
) -> None:
    subjects = iter(range(1_000_000))

    def as_(key: SigningKey) -> dict[str, str]:  # a new token each time (the service remembers verified ones)
        return {"Authorization": f"Bearer {key.token(f'staff-{next(subjects)}')}"}

    first, second = jwks.keys[0], rsa_key("key-2")
    async with jwks_service.client() as client:
        # 404: the token verified and the order is unknown; 401: refused.
        assert (await client.get("/v1/orders/none/history", headers=as_(first))).status_code == 404
        assert (await client.post("/v1/orders/none/read", json={}, headers=as_(first))).status_code == 404

        jwks.publish(second)
        jwks.delay = 1.0
        asked = jwks.asked
        fetch = asyncio.create_task(client.get("/v1/orders/none/history", headers=as_(second)))
        while jwks.asked == asked:  # until the service is fetching the new key set
            assert not fetch.done(), "answered without fetching the rotated key set"
            await asyncio.sleep(0.01)
        started = time.monotonic()
        assert (await client.get("/healthz")).status_code == 200  # the loop answers while the key set is fetched
        assert time.monotonic() - started < 0.5
        assert (await fetch).status_code == 404  # the rotated key verifies
        jwks.delay = 0.0

        # The retired key id is not in the refreshed set: refused (a write, before its body is read, too).
        assert (await client.post("/v1/orders/none/read", json={}, headers=as_(first))).status_code == 401
        assert (await client.get("/v1/orders/none/history", headers=as_(first))).status_code == 401
        assert (await client.post("/v1/orders/none/read", json={}, headers=as_(second))).status_code == 404
