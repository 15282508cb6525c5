"""Writes the OpenAPI document of every HTTP API (built without connecting to any server)."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any


def openapi_documents() -> dict[str, dict[str, Any]]:
    """The OpenAPI document of each service, by service name."""
    from ordertalk_messaging.bootstrap import build as messaging_build
    from ordertalk_messaging.entrypoints.api.app import create_app as messaging_app
    from ordertalk_messaging.settings import Settings as MessagingSettings
    from ordertalk_notifier.bootstrap import build as notifier_build
    from ordertalk_projections.bootstrap import build_app as projections_app
    from ordertalk_projections.settings import Settings as ProjectionsSettings
    from ordertalk_web.bootstrap import build_app as web_app

    docs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = MessagingSettings(EVENT_STORE="sqlite", EVENT_STORE_SQLITE_PATH=Path(tmp) / "es.sqlite")
        components = messaging_build(settings)
        try:
            docs["messaging"] = messaging_app(components, background=False).openapi()
        finally:
            components.close()
    docs["projections"] = projections_app(ProjectionsSettings(), with_workers=False).openapi()
    docs["notifier"] = notifier_build().app().openapi()
    docs["web"] = web_app().openapi()
    return docs


def render(document: dict[str, Any]) -> str:
    """Stable JSON text of a document."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main() -> None:
    """Write ``<service>.openapi.json`` files into ``--out``."""
    parser = argparse.ArgumentParser(prog="api_documents")
    parser.add_argument("--out", type=Path, default=Path("docs/api"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, document in openapi_documents().items():
        path = args.out / f"{name}.openapi.json"
        path.write_text(render(document))
        print(path)


if __name__ == "__main__":
    main()
