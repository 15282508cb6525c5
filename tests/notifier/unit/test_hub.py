"""The broadcast hub: per-audience fan-out, bounded queues, unsubscribe."""

from __future__ import annotations

from ordertalk_notifier.hub import BroadcastHub


def test_publish_reaches_only_the_audience_and_drops_the_oldest_when_full() -> None:
    hub = BroadcastHub(queue_size=2)
    with hub.subscribe("admin") as a1, hub.subscribe("admin") as a2, hub.subscribe("customer:1") as c:
        assert hub.publish("admin", {"n": 1}) == 2
        hub.publish("admin", {"n": 2})
        hub.publish("admin", {"n": 3})
        assert [a1.get_nowait()["n"], a1.get_nowait()["n"]] == [2, 3]
        assert a2.qsize() == 2 and c.empty()
    assert hub.subscriber_count() == 0
    assert hub.publish("admin", {"n": 4}) == 0
