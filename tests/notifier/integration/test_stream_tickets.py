"""Stream tickets over a real socket: minted with the bearer header, they open the bell stream and nothing else."""

from __future__ import annotations

import httpx
from tests.notifier.harness import CODEC, NotifierProcess

from ordertalk_notifier.tickets import StreamTickets
from ordertalk_runtime.auth import Principal

ADMIN = {"Authorization": f"Bearer {CODEC.mint(Principal('admin', 'staff-1', 'Staff'))}"}


def first_frame(url: str, params: dict[str, str]) -> tuple[int, str]:
    """Status and the first event of a stream (or the problem's body)."""
    with httpx.stream("GET", f"{url}/v1/stream", params=params, timeout=10) as response:
        if response.status_code != 200:
            response.read()
            return response.status_code, response.text
        text = ""
        for chunk in response.iter_text():
            text += chunk
            if "event: bell" in text:
                break
        return 200, text


def test_a_ticket_opens_the_stream_and_is_no_bearer_token(notifier: NotifierProcess) -> None:
    answer = httpx.post(f"{notifier.url}/v1/stream/tickets", headers=ADMIN, timeout=10)
    assert answer.status_code == 201
    ticket = answer.json()["ticket"]
    assert answer.json()["expires_in"] == 60
    status, text = first_frame(notifier.url, {"ticket": ticket})
    assert status == 200 and "event: bell" in text
    assert first_frame(notifier.url, {"ticket": ticket})[0] == 200  # a reconnect within its lifetime
    assert first_frame(notifier.url, {"ticket": "forged"})[0] == 401
    as_bearer = {"Authorization": f"Bearer {ticket}"}
    assert httpx.get(f"{notifier.url}/v1/bell", headers=as_bearer, timeout=10).status_code == 401
    assert httpx.post(f"{notifier.url}/v1/stream/tickets", timeout=10).status_code == 401


def test_tickets_expire() -> None:
    now = [0.0]
    tickets = StreamTickets(ttl_seconds=60, clock=lambda: now[0])
    principal = Principal("customer", "customer-1", "Jane")
    ticket = tickets.issue(principal)
    assert tickets.principal(ticket) == principal
    now[0] = 60.0
    assert tickets.principal(ticket) is None
