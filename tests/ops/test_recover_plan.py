"""What `ordertalk-ops recover` does with each topic and group (the pure parts)."""

from __future__ import annotations

from ordertalk_ops.recover import TopicStep, group_topics, plan_topics

from ordertalk_contracts.topics import DEAD_LETTERS, ORDERS, THREAD_EVENTS

EXPECTED = {ORDERS: 6, THREAD_EVENTS: 6, DEAD_LETTERS: 6}


def actions(steps: list[TopicStep]) -> dict[str, str]:
    return {s.topic: s.action for s in steps}


def test_missing_topics_are_created_and_right_ones_kept() -> None:
    steps = plan_topics(EXPECTED, {ORDERS: None, THREAD_EVENTS: 6, DEAD_LETTERS: None}, {}, drop_orders=False)
    assert actions(steps) == {ORDERS: "create", THREAD_EVENTS: "ok", DEAD_LETTERS: "create"}


def test_topics_the_broker_re_created_with_its_own_count_are_re_created() -> None:
    found = {ORDERS: 4, THREAD_EVENTS: 4, DEAD_LETTERS: 4}
    steps = plan_topics(EXPECTED, found, {THREAD_EVENTS: 17}, drop_orders=False)
    assert actions(steps) == {ORDERS: "recreate", THREAD_EVENTS: "recreate", DEAD_LETTERS: "recreate"}
    assert "4 partitions, configured 6; 17 records dropped" in steps[1].why


def test_the_shops_orders_are_never_dropped_unless_asked() -> None:
    found = {ORDERS: 4, THREAD_EVENTS: 6, DEAD_LETTERS: 6}
    kept = plan_topics(EXPECTED, found, {ORDERS: 3}, drop_orders=False)
    assert actions(kept)[ORDERS] == "refuse" and "--drop-orders" in kept[0].why
    assert actions(plan_topics(EXPECTED, found, {ORDERS: 3}, drop_orders=True))[ORDERS] == "recreate"


def test_groups_are_named_as_the_services_name_them() -> None:
    pairs = group_topics({"PROJECTIONS_GROUP": "proj-x"})
    assert pairs == [
        ("ordertalk-messaging-orders", ORDERS),
        ("proj-x", THREAD_EVENTS),
        ("ordertalk-notifier", THREAD_EVENTS),
    ]
