"""Wiring: settings -> token codec -> app."""

from __future__ import annotations

from fastapi import FastAPI

from ordertalk_runtime.auth import TokenCodec
from ordertalk_web.app import create_app
from ordertalk_web.settings import WebSettings


def build_app(settings: WebSettings | None = None) -> FastAPI:
    """The web app wired from ``settings`` (read from the environment when omitted)."""
    settings = settings or WebSettings()
    return create_app(settings, TokenCodec(settings.auth))
