"""Reading a running system for the audit: the store's event feed, every read model and bell, the mail catcher."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient

from ordertalk_contracts import Customer, ThreadEvent, parse_thread_event
from ordertalk_devstack.stack import Stack
from ordertalk_notifier.policy import Links
from ordertalk_runtime.auth import AuthSettings, Principal, TokenCodec
from tests.faults.audit import (
    ADMIN,
    CUSTOMER,
    Folded,
    MailKey,
    bell_problems,
    detail_problems,
    expected_bell,
    fold_store,
    list_problems,
    mail_problems,
)

OUTBOX = "notifier_outbox"  # the notifier's outbox collection: rows not yet sent are "pending"
ADMIN_PRINCIPAL = Principal("admin", "admin-1", "Admin Admin")


def principal_of(customer: Customer) -> Principal:
    """The customer as a signed-in caller."""
    return Principal("customer", customer.id, customer.name, str(customer.email))


def mail_copies(maildir: Path) -> dict[MailKey, list[str]]:
    """E-mails the catcher holds per (X-Ordertalk-Event-Id, envelope recipient): the Message-ID of each copy."""
    copies: dict[MailKey, list[str]] = {}
    if not maildir.exists():
        return copies
    parser = BytesHeaderParser()
    for path in maildir.glob("*.eml"):
        head = parser.parsebytes(path.read_bytes())
        event_id = str(head.get("X-Ordertalk-Event-Id", ""))
        for to in str(head.get("X-Envelope-To", "")).split(","):
            copies.setdefault((event_id, to.strip().lower()), []).append(str(head.get("Message-ID", "")))
    return copies


@dataclass
class Observer:
    """Reads the system as its users and operators see it, and audits it against the fold of the store."""

    stack: Stack
    customers: list[Customer]
    orders: set[str] = field(default_factory=set)  # every order announced: each must have a thread in the store
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))
    resends_allowed: int = 0  # e-mails a killed notifier may send again (the same Message-ID): see kill_notifier

    def __post_init__(self) -> None:
        self.codec = TokenCodec(AuthSettings(jwt_secret=self.stack.env["AUTH_JWT_SECRET"]))
        env = self.stack.env
        self.links = Links(
            store_email=env.get("STORE_NOTIFICATION_EMAIL", "store@example.com"),
            admin_base_url=env["ADMIN_BASE_URL"],
            storefront_base_url=env["STOREFRONT_BASE_URL"],
        )

    def token(self, principal: Principal) -> str:
        """A bearer token of ``principal``."""
        return self.codec.mint(principal)

    def _get(self, service: str, path: str, principal: Principal, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token(principal)}"}
        response = self.http.get(f"{self.stack.url(service)}{path}", params=params, headers=headers)
        response.raise_for_status()
        return response.json()

    def metric(self, service: str, name: str) -> float | None:
        """The value of an unlabelled Prometheus sample on ``service``'s /metrics (None when absent)."""
        text = self.http.get(f"{self.stack.url(service)}/metrics").text
        for line in text.splitlines():
            if line.startswith(f"{name} "):
                return float(line.split()[1])
        return None

    def store_events(self) -> list[ThreadEvent]:
        """Every stored thread event, in store order, from the messaging feed."""
        events: list[ThreadEvent] = []
        after = 0
        while True:
            page = self._get("messaging", "/v1/events", ADMIN_PRINCIPAL, after=after, limit=1000)
            events += [parse_thread_event(json.dumps(item)) for item in page["events"]]
            if not page["events"]:
                return events
            after = int(page["last_position"])

    def thread_rows(self, principal: Principal) -> list[dict[str, Any]]:
        """Every row of the projections' thread list as ``principal`` sees it (all pages)."""
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            answer = self._get("projections", "/v1/threads", principal, page=page, per_page=200)
            rows += answer["items"]
            if len(rows) >= int(answer["total"]) or not answer["items"]:
                return rows
            page += 1

    def thread_view(self, order_id: str, principal: Principal) -> dict[str, Any]:
        """A thread view with every message: its latest page, then each older page before it (oldest first)."""
        path = f"/v1/threads/{order_id}"
        detail: dict[str, Any] = self._get("projections", path, principal, limit=200)
        messages, page = list(detail["messages"]), detail
        while page["older"]:
            page = self._get("projections", path, principal, limit=200, before_seq=page["next_before_seq"])
            messages = [*page["messages"], *messages]
        return detail | {"messages": messages}

    def pending_mails(self) -> int:
        """Outbox rows of the notifier not yet sent (a claimed one whose sender died stays pending)."""
        client: MongoClient[dict[str, Any]]
        with MongoClient(self.stack.env["MONGO_URL"], serverSelectionTimeoutMS=3000) as client:
            return client[self.stack.env["MONGO_DB"]][OUTBOX].count_documents({"status": "pending"})

    def fold(self) -> Folded:
        """The whole store folded, with the e-mails the policy asks for."""
        return fold_store(self.store_events(), self.links)

    def read_model_problems(self, folded: Folded) -> list[str]:
        """Every read model and bell compared with the fold: thread lists, thread views, both services' bells."""
        problems: list[str] = []
        states = folded.states
        problems += list_problems("projections list (admin)", self.thread_rows(ADMIN_PRINCIPAL), states, ADMIN)
        for order_id, state in sorted(states.items()):
            detail = self.thread_view(order_id, ADMIN_PRINCIPAL)
            problems += detail_problems("projections thread view", detail, state, folded.events)
        admin_bell = expected_bell(states.values(), ADMIN)
        for service in ("projections", "notifier"):
            problems += bell_problems(
                f"{service} bell (admin)", self._get(service, "/v1/bell", ADMIN_PRINCIPAL), admin_bell
            )
        for customer in self.customers:
            who = principal_of(customer)
            own = {oid: s for oid, s in states.items() if s.customer is not None and s.customer.id == customer.id}
            problems += list_problems(f"projections list ({customer.id})", self.thread_rows(who), own, CUSTOMER)
            want = expected_bell(own.values(), CUSTOMER)
            for service in ("projections", "notifier"):
                problems += bell_problems(f"{service} bell ({customer.id})", self._get(service, "/v1/bell", who), want)
        return problems

    def mail_problems(self, folded: Folded) -> list[str]:
        """E-mails on the catcher against the policy's over the fold, once nothing is pending in the outbox."""
        problems = mail_problems(folded.expected_mails, mail_copies(self.stack.var / "mail"), self.resends_allowed)
        pending = self.pending_mails()
        return [*problems, f"{pending} e-mails still pending in the outbox"] if pending else problems

    def audit(self) -> list[str]:
        """Everything that disagrees with the store right now (empty: the system is quiet and right)."""
        try:
            folded = self.fold()
            unstarted = [
                f"order {oid} announced, no thread in the store" for oid in sorted(self.orders - set(folded.states))
            ]
            return unstarted + self.read_model_problems(folded) + self.mail_problems(folded)
        except Exception as exc:  # a service or MongoDB still recovering: not quiet yet
            return [f"could not read the system: {exc!r}"]
