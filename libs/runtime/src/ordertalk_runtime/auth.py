"""Bearer JWT authentication: who is calling (role, subject, display name).

Tokens are HS256 with a shared secret (the local stack, whose dev sign-in mints them) or, with
``AUTH_JWKS_URL``, RS256/ES256 tokens of an identity provider, verified against the public keys it
publishes (a JWKS, cached and refreshed when a token names a key not seen yet: key rotation).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import jwt
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ordertalk_contracts import Actor
from ordertalk_runtime.problems import Problem

Role = Literal["admin", "customer"]
ROLES: tuple[str, ...] = ("admin", "customer")


class AuthSettings(BaseSettings):
    """JWT verification settings (``AUTH_*`` environment variables)."""

    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore")

    jwt_secret: str = Field(default="dev-secret-change-me-0123456789abcdef", min_length=16)
    jwt_algorithm: str = "HS256"
    jwt_issuer: str = "ordertalk"
    jwt_audience: str = "ordertalk"
    jwks_url: str | None = None
    jwt_algorithms: str | None = None  # accepted algorithms; default HS256, and RS256,ES256 with a JWKS URL
    jwks_cache_seconds: float = Field(default=300.0, gt=0)
    jwks_refresh_cooldown_seconds: float = Field(default=10.0, ge=0)
    jwks_timeout_seconds: float = Field(default=5.0, gt=0)

    def accepted_algorithms(self) -> frozenset[str]:
        """The algorithms a token may be signed with."""
        if self.jwt_algorithms:
            return frozenset(a.strip() for a in self.jwt_algorithms.split(",") if a.strip())
        return frozenset({self.jwt_algorithm, *(ASYMMETRIC if self.jwks_url else ())})


ASYMMETRIC = ("RS256", "ES256")


class JwksKeys:
    """The identity provider's public keys (PyJWT's PyJWKClient): cached, refreshed for a key id not seen yet.

    ``key`` answers from what was fetched last, without I/O; ``fetch`` may call the provider (blocking:
    run it in a worker thread) when the cached set has expired or lacks the key id, at most once per
    cooldown for unknown ids, so forged key ids cannot make every request call the provider.
    """

    def __init__(self, url: str, cache_seconds: float, cooldown_seconds: float, timeout_seconds: float) -> None:
        self.client = jwt.PyJWKClient(
            url, lifespan=cache_seconds, cooldown_duration=cooldown_seconds, timeout=timeout_seconds
        )
        self._known: dict[str, jwt.PyJWK] = {}

    def fresh(self, kid: str) -> bool:
        """Whether ``kid`` is in a key set that has not expired (no fetch needed)."""
        cache = self.client.jwk_set_cache
        return kid in self._known and cache is not None and cache.get() is not None

    def key(self, kid: str) -> jwt.PyJWK | None:
        """The key ``kid`` from the set fetched last (None if it did not have it)."""
        return self._known.get(kid)

    def fetch(self, kid: str) -> None:
        """Bring the key set up to date for ``kid`` (blocking; errors leave the last set in place)."""
        with contextlib.suppress(jwt.PyJWKClientError):  # an unknown id, or the provider is down: refused later
            self.client.get_signing_key(kid)
        cache = self.client.jwk_set_cache
        current = cache.get() if cache is not None else None
        if current is not None:
            self._known = {k.key_id: k for k in current.keys if k.key_id}


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller."""

    role: Role
    subject: str
    display_name: str
    email: str | None = None

    @property
    def actor(self) -> Actor:
        """The caller as the actor recorded on events."""
        return Actor(role=self.role, id=self.subject, display_name=self.display_name)


class InvalidToken(Exception):
    """The bearer token is missing, malformed, expired or signed with another key."""


@dataclass(frozen=True, slots=True)
class TokenCodec:
    """Mints (HS256, for the local stack) and verifies the JWTs of the system."""

    settings: AuthSettings
    jwks: JwksKeys | None = field(default=None, compare=False)
    _algorithms: frozenset[str] = field(init=False, default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        s = self.settings
        if self.jwks is None and s.jwks_url:
            keys = JwksKeys(s.jwks_url, s.jwks_cache_seconds, s.jwks_refresh_cooldown_seconds, s.jwks_timeout_seconds)
            object.__setattr__(self, "jwks", keys)
        object.__setattr__(self, "_algorithms", s.accepted_algorithms())

    def mint(self, principal: Principal, ttl_seconds: int = 12 * 3600) -> str:
        """A signed token for ``principal`` valid for ``ttl_seconds``."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": principal.subject,
            "role": principal.role,
            "name": principal.display_name,
            "iss": self.settings.jwt_issuer,
            "aud": self.settings.jwt_audience,
            "iat": now,
            "exp": now + ttl_seconds,
        }
        if principal.email:
            claims["email"] = principal.email
        return jwt.encode(claims, self.settings.jwt_secret, algorithm=self.settings.jwt_algorithm)

    def _header(self, token: str) -> tuple[str, str | None]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise InvalidToken(f"tokens signed with {alg!r} are not accepted")
        return alg, kid if isinstance(kid, str) else None

    def needs_key_fetch(self, token: str) -> str | None:
        """The key id to fetch from the JWKS before ``token`` can be verified without I/O, if any."""
        if self.jwks is None:
            return None
        try:
            alg, kid = self._header(token)
        except InvalidToken:
            return None
        if alg in ASYMMETRIC and kid is not None and not self.jwks.fresh(kid):
            return kid
        return None

    async def prepare(self, token: str) -> None:
        """Fetch the JWKS in a worker thread if ``token`` names a key not cached (the event loop never waits)."""
        kid = self.needs_key_fetch(token)
        if kid is not None and self.jwks is not None:
            await asyncio.to_thread(self.jwks.fetch, kid)

    async def verify_async(self, token: str) -> Principal:
        """``verify``, after fetching the key set in a worker thread when the token needs it."""
        await self.prepare(token)
        return self.verify(token)

    def verify(self, token: str) -> Principal:
        """The principal a valid token names; InvalidToken otherwise (no I/O: JWKS keys as last fetched)."""
        alg, kid = self._header(token)
        key: Any = self.settings.jwt_secret
        if alg in ASYMMETRIC:
            found = self.jwks.key(kid) if self.jwks is not None and kid is not None else None
            if found is None:
                raise InvalidToken(f"no published key {kid!r}")
            key = found
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                issuer=self.settings.jwt_issuer,
                audience=self.settings.jwt_audience,
                options={"require": ["sub", "role", "exp"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        role, subject = claims.get("role"), claims.get("sub")
        if role not in ROLES or not isinstance(subject, str) or not subject:
            raise InvalidToken("token has no valid role or subject")
        name = claims.get("name") if isinstance(claims.get("name"), str) else subject
        email = claims.get("email") if isinstance(claims.get("email"), str) else None
        return Principal(role=role, subject=subject, display_name=str(name)[:200], email=email)


def unauthorized(detail: str) -> Problem:
    """The 401 problem asking for a bearer token."""
    return Problem(401, "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


_unauthorized = unauthorized


VERIFIED_PRINCIPAL = "principal"  # key in the request's scope state, set by the edge middleware


def bearer_token(authorization: str) -> str:
    """The token of an ``Authorization: Bearer`` header value ('' if there is none)."""
    return authorization[7:].strip() if authorization[:7].lower() == "bearer " else ""


def principal_from_request(request: Request, codec: TokenCodec, allow_query_token: bool = False) -> Principal:
    """The caller: verified already by the edge middleware, else from its bearer token (or ``access_token``)."""
    verified = request.scope.get("state", {}).get(VERIFIED_PRINCIPAL)
    if isinstance(verified, Principal):
        return verified
    token = bearer_token(request.headers.get("authorization", ""))
    if not token and allow_query_token:
        token = request.query_params.get("access_token", "")
    if not token:
        raise _unauthorized("a bearer token is required")
    try:
        return codec.verify(token)
    except InvalidToken as exc:
        raise _unauthorized(f"invalid token: {exc}") from exc


async def bearer_principal(request: Request, codec: TokenCodec) -> Principal:
    """The caller of ``request`` from its bearer token, fetching JWKS keys off the event loop (401 otherwise)."""
    token = bearer_token(request.headers.get("authorization", ""))
    if not token:
        raise unauthorized("a bearer token is required")
    try:
        return await codec.verify_async(token)
    except InvalidToken as exc:
        raise unauthorized(f"invalid token: {exc}") from exc


def _codec(request: Request) -> TokenCodec:
    codec = getattr(request.app.state, "token_codec", None)
    if not isinstance(codec, TokenCodec):  # pragma: no cover - wiring error
        raise RuntimeError("app.state.token_codec is not set")
    return codec


# The security schemes of the OpenAPI documents. They only document: the dependencies below verify.
BEARER_SCHEME = HTTPBearer(
    scheme_name="bearerAuth",
    bearerFormat="JWT",
    description="A JWT in `Authorization: Bearer <token>` naming the caller's role (admin or customer).",
    auto_error=False,
)
QUERY_TOKEN_SCHEME = APIKeyQuery(
    name="access_token",
    scheme_name="accessTokenQuery",
    description="The same JWT as the `access_token` query parameter (for EventSource, which cannot set headers).",
    auto_error=False,
)
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Security(BEARER_SCHEME)]
QueryToken = Annotated[str | None, Security(QUERY_TOKEN_SCHEME)]


def current_principal(request: Request, _: BearerCredentials) -> Principal:
    """FastAPI dependency: the authenticated caller (401 problem otherwise)."""
    return principal_from_request(request, _codec(request))


def current_admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """FastAPI dependency: the caller, who must be store staff (403 otherwise)."""
    if principal.role != "admin":
        raise Problem(403, "Forbidden", "this action is for store staff")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
CurrentAdmin = Annotated[Principal, Depends(current_admin)]
