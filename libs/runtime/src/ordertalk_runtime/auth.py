"""Bearer JWT authentication: who is calling (role, subject, display name)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import jwt
from fastapi import Depends, Request
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
    """Mints and verifies the JWTs of the system."""

    settings: AuthSettings

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

    def verify(self, token: str) -> Principal:
        """The principal a valid token names; InvalidToken otherwise."""
        try:
            claims = jwt.decode(
                token,
                self.settings.jwt_secret,
                algorithms=[self.settings.jwt_algorithm],
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


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


def principal_from_request(request: Request, codec: TokenCodec, allow_query_token: bool = False) -> Principal:
    """Verify the caller's bearer token (or ``access_token`` query value for SSE)."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    if not token and allow_query_token:
        token = request.query_params.get("access_token", "")
    if not token:
        raise _unauthorized("a bearer token is required")
    try:
        return codec.verify(token)
    except InvalidToken as exc:
        raise _unauthorized(f"invalid token: {exc}") from exc


def _codec(request: Request) -> TokenCodec:
    codec = getattr(request.app.state, "token_codec", None)
    if not isinstance(codec, TokenCodec):  # pragma: no cover - wiring error
        raise RuntimeError("app.state.token_codec is not set")
    return codec


def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the authenticated caller (401 problem otherwise)."""
    return principal_from_request(request, _codec(request))


def current_admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """FastAPI dependency: the caller, who must be store staff (403 otherwise)."""
    if principal.role != "admin":
        raise Problem(403, "Forbidden", "this action is for store staff")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
CurrentAdmin = Annotated[Principal, Depends(current_admin)]
