"""One fault scenario: load, the fault, the load's end, a quiet system, then the audit against the store."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.faults.audit import check_acks, resent
from tests.faults.conftest import Scene
from tests.faults.load import Load, LoadStats
from tests.faults.observe import mail_copies

ACKS_BEFORE = 30  # acknowledged writes before the fault
ACKS_AFTER = 30  # and after it: the system takes writes again
QUIET_SECONDS = 90.0  # after the load: every read model, bell and e-mail agrees with the store within this


@dataclass(frozen=True)
class Outcome:
    """What a scenario measured."""

    stats: LoadStats
    events: int
    mails: int
    resent: int  # copies of e-mails sent again after a kill (the same Message-ID)
    quiet_after: float  # seconds from the load's end until the audit found nothing wrong

    def line(self) -> str:
        """One line for the test's output."""
        s = self.stats
        failed = dict(s.read_errors) or "none"
        return (
            f"{s.acks} writes acknowledged ({s.retries} retries, {s.replayed} replayed, {s.refused} refused,"
            f" {s.gave_up} given up), {s.reads} reads (failed: {failed}); {self.events} events stored,"
            f" {self.mails} e-mails expected and received ({self.resent} sent again, the same Message-ID);"
            f" quiet {self.quiet_after:.1f} s after the load"
        )


Fault = Callable[[Scene, Load], None]


def run_scenario(scene: Scene, fault: Fault) -> Outcome:
    """Drive load, inject ``fault`` (which returns once the system is mended), end the load and audit the system.

    Fails with every disagreement the audit still finds ``QUIET_SECONDS`` after the load ended.
    """
    load = scene.load().start()
    try:
        load.wait_acks(ACKS_BEFORE, 60, "before the fault")
        fault(scene, load)
        load.wait_acks(ACKS_AFTER, 120, "after the fault")
    finally:
        stats = load.stop()
    ended = time.monotonic()
    lost = check_acks(load.acks, scene.observer.store_events())
    assert not lost, "\n".join(lost)
    deadline = ended + QUIET_SECONDS
    problems = scene.observer.audit()
    while problems and time.monotonic() < deadline:
        time.sleep(0.5)  # the poll interval of the quiet wait; the deadline bounds it
        problems = scene.observer.audit()
    quiet_after = time.monotonic() - ended
    if problems:
        shown = "\n".join(problems[:40])
        more = f"\n... and {len(problems) - 40} more" if len(problems) > 40 else ""
        pytest.fail(f"{len(problems)} problems {QUIET_SECONDS:.0f} s after the load:\n{shown}{more}", pytrace=False)
    folded = scene.observer.fold()
    again = resent(mail_copies(scene.observer.stack.var / "mail"))
    outcome = Outcome(stats, len(folded.events), len(folded.expected_mails), again, quiet_after)
    print(outcome.line())
    return outcome
