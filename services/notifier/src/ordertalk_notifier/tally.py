"""Bell counts kept in memory: loaded from every thread's contribution, then moved by each state change; pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ordertalk_threadstate import ThreadState

from ordertalk_notifier.ports import BellCounts


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one thread adds to the bells: unread messages per side, an open dispute, whose order it is."""

    customer_id: str | None = None
    unread_admin: int = 0
    unread_customer: int = 0
    dispute_open: bool = False

    @classmethod
    def of(cls, state: ThreadState | None) -> Contribution:
        """The contribution of a thread state (nothing for a thread not seen yet)."""
        if state is None:
            return cls()
        return cls(
            customer_id=state.customer.id if state.customer else None,
            unread_admin=state.unread_for("admin"),
            unread_customer=state.unread_for("customer"),
            dispute_open=state.open_dispute is not None,
        )


@dataclass
class _Counts:
    messages: int = 0
    threads: int = 0
    disputes: int = 0


@dataclass
class BellTally:
    """Admin counts and each customer's counts, maintained by deltas; ``loaded`` is False until a full load."""

    loaded: bool = False
    _admin: _Counts = field(default_factory=_Counts)
    _customers: dict[str, _Counts] = field(default_factory=dict)

    def load(self, contributions: Iterable[Contribution]) -> None:
        """Start again from the contributions of every thread."""
        self._admin, self._customers = _Counts(), {}
        for c in contributions:
            self._add(c, 1)
        self.loaded = True

    def invalidate(self) -> None:
        """The counts may be stale: a full load is needed before they are used again."""
        self.loaded = False

    def apply(self, before: ThreadState | None, after: ThreadState) -> None:
        """Move the counts by one thread's change."""
        self._add(Contribution.of(before), -1)
        self._add(Contribution.of(after), 1)

    def _add(self, c: Contribution, sign: int) -> None:
        self._admin.messages += sign * c.unread_admin
        self._admin.threads += sign * (c.unread_admin > 0)
        self._admin.disputes += sign * c.dispute_open
        if c.customer_id is not None:
            mine = self._customers.setdefault(c.customer_id, _Counts())
            mine.messages += sign * c.unread_customer
            mine.threads += sign * (c.unread_customer > 0)

    def admin(self) -> BellCounts:
        """The store staff's bell."""
        a = self._admin
        return {"unread_messages": a.messages, "unread_threads": a.threads, "open_disputes": a.disputes}

    def customer(self, customer_id: str) -> BellCounts:
        """One customer's bell."""
        mine = self._customers.get(customer_id, _Counts())
        return {"unread_messages": mine.messages, "unread_threads": mine.threads}
