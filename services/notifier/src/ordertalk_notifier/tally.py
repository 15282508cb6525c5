"""Bell counts kept in memory: loaded from every thread's contribution, then moved by each state change; pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ordertalk_threadstate import Attention, ThreadState
from ordertalk_threadstate import BellCounts as Figures
from ordertalk_threadstate.fields import ADMIN, CUSTOMER

from ordertalk_notifier.ports import BellCounts, ContributionRow

NOTHING = Attention(unread_messages=0, unseen_dispute=False)


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one thread adds to the bells: what is new in it for the staff and for its customer, whose order it is."""

    customer_id: str | None = None
    admin: Attention = NOTHING
    customer: Attention = NOTHING

    @classmethod
    def of(cls, state: ThreadState | None) -> Contribution:
        """The contribution of a thread state (nothing for a thread not seen yet)."""
        if state is None:
            return cls()
        return cls(
            customer_id=state.customer.id if state.customer else None,
            admin=state.attention_for(ADMIN),
            customer=state.attention_for(CUSTOMER),
        )

    @classmethod
    def from_row(cls, row: ContributionRow) -> Contribution:
        """The contribution a stored row describes (``ThreadStore.contributions``)."""
        customer_id, unread_admin, unseen_admin, unread_customer, unseen_customer = row
        return cls(customer_id, Attention(unread_admin, unseen_admin), Attention(unread_customer, unseen_customer))


@dataclass
class _Counts:
    news: int = 0
    messages: int = 0
    disputes: int = 0

    def add(self, attention: Attention, sign: int) -> None:
        self.news += sign * attention.has_news
        self.messages += sign * (attention.unread_messages > 0)
        self.disputes += sign * attention.unseen_dispute

    def json(self) -> BellCounts:
        counts = Figures(
            threads_with_news=self.news, threads_with_unread_messages=self.messages, unseen_disputes=self.disputes
        )
        return counts.model_dump()


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
        self._admin.add(c.admin, sign)
        if c.customer_id is not None:
            self._customers.setdefault(c.customer_id, _Counts()).add(c.customer, sign)

    def admin(self) -> BellCounts:
        """The store staff's bell."""
        return self._admin.json()

    def customer(self, customer_id: str) -> BellCounts:
        """One customer's bell."""
        return self._customers.get(customer_id, _Counts()).json()
