"""schemathesis over every service's OpenAPI document, against the running system, as the admin and as a customer."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.e2e.stack_support import DemoOrder, System

from ordertalk_contracts import Customer
from ordertalk_devstack.processes import free_port
from ordertalk_devstack.stack import StackPorts, running_stack
from ordertalk_runtime.auth import AuthSettings, TokenCodec

pytestmark = pytest.mark.e2e
SERVICES = ("messaging", "projections", "notifier", "web")
ROLES = ("admin", "customer")
MAX_EXAMPLES = 4  # per operation and phase: the whole module stays within about two minutes on two cores
SCHEMATHESIS = [sys.executable, "-m", "schemathesis.cli"]
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """The whole system on stand-in servers and free ports."""
    names = ("kafka", "mongo", "smtp", "web", "messaging", "projections", "notifier")
    ports = StackPorts(**{name: free_port() for name in names})
    with pytest.MonkeyPatch.context() as patch:
        for name in ("KAFKA_BOOTSTRAP_SERVERS", "MONGO_URL", "SMTP_HOST"):
            patch.delenv(name, raising=False)
        patch.setenv("CORS_ORIGINS", f"http://127.0.0.1:{ports.web}")
        # The documents declare 429, but a rate limit would make answers depend on timing: off here.
        patch.setenv("RATE_LIMIT_WRITES_PER_SECOND", "0")
        patch.setenv("RATE_LIMIT_ANONYMOUS_PER_SECOND", "0")
        patch.setenv("SQLITE_SYNCHRONOUS", "NORMAL")  # no fsync per write: hundreds of writes per run
        # Generated reads name orders that have no thread (`after_order`): each waits out the read bound, which
        # the documents do not describe; a short one keeps the module within its time.
        patch.setenv("PROJECTIONS_READ_WAIT_SECONDS", "0.1")
        with running_stack(tmp_path_factory.mktemp("conformance"), ports) as stack:
            yield System(stack, TokenCodec(AuthSettings(jwt_secret=stack.env["AUTH_JWT_SECRET"])))


@pytest.fixture(scope="module")
def order_ids(system: System) -> list[str]:
    """Registered orders of the customer (customer-1) the tokens name, one with a message and an open dispute."""
    jane = Customer(id="customer-1", name="Jane Doe", email="jane@example.com")
    orders = [DemoOrder(f"ord-{uuid.uuid4().hex[:6]}", f"#{n:05d}", jane) for n in range(101, 104)]
    system.register_orders(*orders)
    first = orders[0].order_id
    base, headers = system.stack.url("messaging"), {"Authorization": f"Bearer {system.token('customer')}"}
    for path, body in (
        (f"/v1/orders/{first}/messages", {"body": "Where is it?"}),
        (f"/v1/orders/{first}/dispute", {"reason": "Late"}),
    ):
        assert httpx.post(f"{base}{path}", json=body, headers=headers, timeout=10).status_code == 201
    return [order.order_id for order in orders]


def config_text(token: str, order_ids: list[str]) -> str:
    """A schemathesis.toml: the bearer token on every request, order ids mostly from the registered ones."""
    values = ", ".join(json.dumps(order_id) for order_id in order_ids)
    return "\n".join(
        [
            f"hooks = {json.dumps(str(HOOKS))}",
            "request-timeout = 10",
            "max-stream-events = 1",
            "[auth.openapi.bearerAuth]",
            f"bearer = {json.dumps(token)}",
            "[auth.openapi.accessTokenQuery]",
            f"api_key = {json.dumps(token)}",
            "[dictionaries.orders]",
            f"values = [{values}]",
            "[dictionaries.positions]",
            "values = [0, 1, 2]",
            "[parameters]",
            '"path.order_id" = { dictionary = "orders", probability = 0.8 }',
            '"body.order_ids[*]" = { dictionary = "orders", probability = 0.8 }',
            # A position far ahead makes a read wait its full 2 s: mostly ones the read side has applied.
            '"query.after" = { dictionary = "positions", probability = 0.9 }',
            # Operations without a security scheme get the token too, as a client sends it everywhere: the
            # edge authenticates a write method before routing, so an unsupported PUT without it is a 401.
            "[[operations]]",
            'include-path-regex = "^/(healthz|readyz|dev/)"',
            "[operations.headers]",
            f"Authorization = {json.dumps('Bearer ' + token)}",
            "",
        ]
    )


def run_schemathesis(system: System, service: str, role: str, order_ids: list[str], out: Path) -> tuple[int, str]:
    """Exit code and output of one schemathesis run over ``service``'s served document, all checks on."""
    config = out / "schemathesis.toml"
    config.write_text(config_text(system.token(role), order_ids))
    argv = [
        *SCHEMATHESIS,
        "--config-file",
        str(config),
        "run",
        f"{system.stack.url(service)}/openapi.json",
        "--checks",
        "all",
        "--mode",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        "12",
        "--generation-database",
        "none",
        "--workers",
        "1",  # two workers race in CPython's AST parsing inside hypothesis (a RuntimeError, seen once)
        "--no-shrink",
        "--no-color",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=out, check=False)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("service", SERVICES)
def test_api_conforms_to_its_document(
    system: System, order_ids: list[str], service: str, role: str, tmp_path: Path
) -> None:
    code, output = run_schemathesis(system, service, role, order_ids, tmp_path)
    assert code == 0, output
