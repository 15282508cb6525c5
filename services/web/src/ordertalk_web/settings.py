"""The web service's settings, read once from the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ordertalk_runtime.auth import AuthSettings


class WebSettings(BaseSettings):
    """Where the browser finds the APIs, and whether the local dev sign-in is on."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    messaging_public_url: str = Field(
        default="http://127.0.0.1:8001", validation_alias=AliasChoices("MESSAGING_PUBLIC_URL", "MESSAGING_URL")
    )
    projections_public_url: str = Field(
        default="http://127.0.0.1:8002", validation_alias=AliasChoices("PROJECTIONS_PUBLIC_URL", "PROJECTIONS_URL")
    )
    notifier_public_url: str = Field(
        default="http://127.0.0.1:8003", validation_alias=AliasChoices("NOTIFIER_PUBLIC_URL", "NOTIFIER_URL")
    )
    dev_signin: bool = Field(default=False, validation_alias=AliasChoices("WEB_DEV_SIGNIN"))
    store_name: str = Field(default="Demo Store", validation_alias=AliasChoices("WEB_STORE_NAME"))
    auth: AuthSettings = Field(default_factory=AuthSettings)
