"""Fault scenarios on the whole running system (issue 13): each ends with the store folded and compared with
every read model and bell, and the e-mails counted per (event, recipient).

``make test-faults`` runs them all; ``make test`` runs the ones marked ``faults_subset``.
"""

from __future__ import annotations

import threading

import pytest

from ordertalk_notifier.settings import Settings, SmtpSettings
from tests.faults.conftest import Scene
from tests.faults.load import Load
from tests.faults.scenario import Fault, run_scenario
from tests.faults.stack_control import ops_has
from tests.support.polling import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.faults]
PAUSE_SECONDS = 5.0  # how long a paused server stays frozen: the length of the fault itself


def hold(seconds: float) -> None:
    """Keep a fault in place for ``seconds`` (its length, not a wait for a condition)."""
    threading.Event().wait(seconds)


def kill_and_restart(service: str, acks_while_down: int) -> Fault:
    """A fault: SIGKILL ``service`` during the load, let the load go on, start it again.

    Orders announced while it is down must get their threads (messaging) and read-model rows once it is back.
    """

    def fault(scene: Scene, load: Load) -> None:
        scene.faults.kill(service)
        scene.announce_new_orders(2)
        if acks_while_down:
            load.wait_acks(acks_while_down, 60, f"while {service} is down")
        scene.faults.restart(service)

    return fault


@pytest.mark.faults_subset
def test_sigkill_of_the_projections_worker_during_load(scene: Scene) -> None:
    run_scenario(scene, kill_and_restart("projections", 20))


def test_sigkill_of_the_notifier_during_load(scene: Scene) -> None:
    # What the server accepted and the killed notifier had not yet marked sent goes out again, as the same e-mail
    # (the same Message-ID): at most NOTIFIER_MAX_UNMARKED per SMTP connection. Nothing else may come twice.
    env = scene.observer.stack.env
    connections = int(env.get("SMTP_CONNECTIONS", SmtpSettings.model_fields["connections"].default))
    unmarked = int(env.get("NOTIFIER_MAX_UNMARKED", Settings.model_fields["notifier_max_unmarked"].default))
    scene.observer.resends_allowed = connections * unmarked
    run_scenario(scene, kill_and_restart("notifier", 20))


def test_sigkill_of_messaging_with_its_orders_consumer_and_relay_during_load(scene: Scene) -> None:
    # Nothing is acknowledged while the write side is down: clients retry with their keys until it is back.
    run_scenario(scene, kill_and_restart("messaging", 0))


@pytest.mark.faults_subset
def test_broker_paused_during_load(scene: Scene) -> None:
    def fault(scene: Scene, load: Load) -> None:
        with scene.faults.paused("kafka"):
            hold(PAUSE_SECONDS)

    run_scenario(scene, fault)


def test_mongodb_paused_during_load(scene: Scene) -> None:
    def fault(scene: Scene, load: Load) -> None:
        with scene.faults.paused("mongo"):
            hold(PAUSE_SECONDS)

    run_scenario(scene, fault)


def test_smtp_outage_during_load(scene: Scene) -> None:
    def fault(scene: Scene, load: Load) -> None:
        scene.faults.stop_mail()

        def down() -> bool:
            return scene.observer.metric("notifier", "ordertalk_smtp_up") == 0

        wait_for(down, 30, "the notifier to run into the outage (ordertalk_smtp_up 0)")
        load.wait_acks(30, 60, "while the mail server is down")
        scene.faults.start_mail()

    run_scenario(scene, fault)


@pytest.mark.skipif(
    not ops_has("recover"),
    reason="`ordertalk-ops recover` (re-create topics, re-publish from the store, re-align groups) does not exist yet",
)
def test_broker_wiped_during_load_and_recovered_with_ordertalk_ops(scene: Scene) -> None:
    def fault(scene: Scene, load: Load) -> None:
        scene.faults.wipe_broker()
        load.wait_acks(20, 60, "while the broker is empty")
        done = scene.faults.ops("recover")
        assert done.returncode == 0, done.stdout + done.stderr

    run_scenario(scene, fault)
