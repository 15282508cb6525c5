"""A permanent rejection (5xx) is recorded, shown by the API and the CLI, and not retried; a 4xx is retried."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from tests.notifier.events import ADMIN, ThreadBuilder
from tests.notifier.harness import ADMIN_TOKEN, NotifierProcess, outbox_rows, produce
from tests.support.polling import wait_for as wait_until

from ordertalk_devstack.processes import free_port, python_argv
from ordertalk_runtime.kafka import KafkaSettings


class PickyHandler:
    """Rejects @rejected.example for good, @flaky.example once for now, accepts everything else."""

    def __init__(self) -> None:
        self.rcpts: list[str] = []
        self.accepted: list[str] = []
        self.flaky_seen: set[str] = set()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        self.rcpts.append(address)
        if address.endswith("@rejected.example"):
            return "550 5.1.1 no such mailbox"
        if address.endswith("@flaky.example") and address not in self.flaky_seen:
            self.flaky_seen.add(address)
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.accepted += envelope.rcpt_tos
        return "250 accepted"


@pytest.fixture
def picky_smtp() -> Iterator[tuple[int, PickyHandler]]:
    handler = PickyHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


def test_rejected_mail_is_recorded_listed_and_not_retried(
    kafka_settings: KafkaSettings, mongo_url: str, picky_smtp: tuple[int, PickyHandler], server_logs: Path
) -> None:
    port, handler = picky_smtp
    notifier = NotifierProcess(kafka_settings, mongo_url, port, server_logs).start()
    try:
        gone = ThreadBuilder(customer_email="nobody@rejected.example", order_number="#00500")
        flaky = ThreadBuilder(customer_email="later@flaky.example")
        events = [gone.started(), gone.message(ADMIN), flaky.started(), flaky.message(ADMIN)]
        asyncio.run(produce(kafka_settings, events))
        auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

        def listed() -> bool:
            items = httpx.get(f"{notifier.url}/v1/notifications/failed", headers=auth).json()["items"]
            return any(i["order_id"] == gone.order_id for i in items)

        wait_until(listed, 30, "the rejected e-mail in /v1/notifications/failed", interval=0.2)
        wait_until(lambda: "later@flaky.example" in handler.accepted, 30, "the flaky address to be retried")
        items = httpx.get(f"{notifier.url}/v1/notifications/failed", headers=auth).json()["items"]
        [failed] = [i for i in items if i["order_id"] == gone.order_id]
        assert failed["recipient"] == "nobody@rejected.example"
        assert failed["attempts"] == 1 and "550" in failed["error"]
        assert failed["subject"] == "New message about your order #00500"
        assert handler.rcpts.count("nobody@rejected.example") == 1
        assert handler.rcpts.count("later@flaky.example") == 2
        [flaky_row] = outbox_rows(mongo_url, notifier.mongo_db, order_id=flaky.order_id)
        assert flaky_row["status"] == "sent"

        cli = subprocess.run(
            python_argv("-m", "ordertalk_notifier", "failed"), env=notifier.env(), capture_output=True, timeout=60
        )
        assert cli.returncode == 0, cli.stderr
        lines = [json.loads(line) for line in cli.stdout.decode().splitlines()]
        assert any(
            line["order_id"] == gone.order_id and line["recipient"] == "nobody@rejected.example" for line in lines
        )
    finally:
        notifier.stop()
