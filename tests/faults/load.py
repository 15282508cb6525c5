"""Load over HTTP with idempotency keys: posts, reads, disputes opened and closed, mark unread, list and bell reads.

Each write gets a fresh Idempotency-Key and is retried with the same key (and body) after a connection error,
a timeout or a 5xx, until it is acknowledged or its retry time runs out: what a careful client does during an
outage. Acknowledged writes are recorded with the position the answer gave.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

from tests.faults.audit import Ack
from tests.support.polling import wait_for

RETRY_PAUSE = 0.2  # between two tries of one write: pacing of the client, not a wait for a condition
THINK_TIME = (0.01, 0.05)  # between two requests of one client
WEIGHTS = {"post": 45, "read": 12, "unread": 8, "open": 10, "close": 10, "list": 10, "bell": 5}


@dataclass(frozen=True)
class Party:
    """Who a client acts as: the bearer token and the orders it may write to."""

    name: str
    token: str
    order_ids: tuple[str, ...]


@dataclass
class LoadStats:
    """What the load did, for the report."""

    attempts: int = 0
    acks: int = 0
    retries: int = 0
    replayed: int = 0
    refused: int = 0  # 409 dispute conflicts and other definite refusals
    gave_up: int = 0
    reads: int = 0
    read_errors: Counter[str] = field(default_factory=Counter)  # failed reads by what answered


@dataclass
class Load:
    """Client threads writing and reading until ``stop``; the acknowledged writes in ``acks``."""

    messaging: str
    projections: str
    notifier: str
    parties: list[Party]
    clients: int = 3
    give_up_after: float = 45.0
    seed: int = 13
    acks: list[Ack] = field(default_factory=list)
    stats: LoadStats = field(default_factory=LoadStats)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)
    _serial: int = 0

    def start(self) -> Load:
        """Start the client threads."""
        for n in range(self.clients):
            thread = threading.Thread(target=self._client, args=(random.Random(self.seed + n),), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> LoadStats:
        """Let every in-flight write finish (acknowledged or given up), then stop the clients."""
        self._stop.set()
        for thread in self._threads:
            thread.join(self.give_up_after + 30)
            assert not thread.is_alive(), "a load client did not stop"
        return self.stats

    def ack_count(self) -> int:
        """Writes acknowledged so far."""
        with self._lock:
            return len(self.acks)

    def wait_acks(self, more: int, timeout: float, what: str) -> None:
        """Wait until ``more`` further writes are acknowledged (the system takes writes again)."""
        target = self.ack_count() + more
        wait_for(lambda: self.ack_count() >= target, timeout, f"{more} more acknowledged writes {what}")

    def _next_body(self, party: str) -> str:
        with self._lock:
            self._serial += 1
            return f"fault-load {self._serial} from {party} {uuid.uuid4().hex[:8]}"

    def _client(self, rng: random.Random) -> None:
        ops, weights = list(WEIGHTS), list(WEIGHTS.values())
        with httpx.Client(timeout=5.0) as http:
            while not self._stop.is_set():
                party = rng.choice(self.parties)
                op = rng.choices(ops, weights)[0]
                headers = {"Authorization": f"Bearer {party.token}"}
                if op in ("list", "bell"):
                    self._read(http, op, headers)
                else:
                    self._write(http, op, rng.choice(party.order_ids), party.name, headers)
                time.sleep(rng.uniform(*THINK_TIME))

    def _read(self, http: httpx.Client, op: str, headers: dict[str, str]) -> None:
        url = f"{self.projections}/v1/threads" if op == "list" else f"{self.notifier}/v1/bell"
        try:
            answer: int | str = http.get(url, headers=headers).status_code
        except httpx.HTTPError as exc:
            answer = type(exc).__name__
        with self._lock:
            self.stats.reads += 1
            if answer != 200:
                self.stats.read_errors[f"{op} {answer}"] += 1

    def _write(self, http: httpx.Client, op: str, order_id: str, party: str, headers: dict[str, str]) -> None:
        key = str(uuid.uuid4())
        body = self._next_body(party) if op == "post" else None
        path, payload, status = {
            "post": ("messages", {"body": body}, 201),
            "open": ("dispute", {"reason": f"fault-load dispute by {party}"}, 201),
            "close": ("dispute/close", None, 200),
            "read": ("read", None, 200),
            "unread": ("unread", None, 200),
        }[op]
        url = f"{self.messaging}/v1/orders/{order_id}/{path}"
        deadline = time.monotonic() + self.give_up_after
        tries = 0
        while True:
            tries += 1
            answer = self._try(http, url, payload, headers | {"Idempotency-Key": key})
            if answer is not None and answer.status_code == status:
                self._record(op, order_id, key, body, answer, tries)
                return
            retryable = answer is None or answer.status_code >= 500 or _in_flight(answer)
            if not retryable or time.monotonic() > deadline:
                with self._lock:
                    self.stats.attempts += 1
                    self.stats.retries += tries - 1
                    if retryable:
                        self.stats.gave_up += 1
                    else:
                        self.stats.refused += 1
                return
            time.sleep(RETRY_PAUSE)

    @staticmethod
    def _try(http: httpx.Client, url: str, payload: object, headers: dict[str, str]) -> httpx.Response | None:
        try:
            return http.post(url, json=payload, headers=headers)
        except httpx.HTTPError:
            return None

    def _record(self, op: str, order_id: str, key: str, body: str | None, answer: httpx.Response, tries: int) -> None:
        doc = answer.json()
        ack = Ack(
            op=op,
            order_id=order_id,
            key=key,
            thread_version=int(doc["thread_version"]),
            position=int(doc["position"]),
            message_id=str(doc["message_id"]) if op == "post" else None,
            body=body,
        )
        with self._lock:
            self.acks.append(ack)
            self.stats.attempts += 1
            self.stats.acks += 1
            self.stats.retries += tries - 1
            self.stats.replayed += answer.headers.get("idempotent-replayed") == "true"


def _in_flight(answer: httpx.Response) -> bool:
    """A 409 saying the same key is still being processed: the first try may yet land, so try again."""
    return answer.status_code == 409 and "still being processed" in answer.text
