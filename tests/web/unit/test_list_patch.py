"""list-patch.js (how Orders → Messages patches a page with one thread's row) run by Node.js on sample pages."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

MODULE = Path(__file__).parents[3] / "services/web/src/ordertalk_web/static/js/list-patch.js"
PER_PAGE = 3


def at(second: int) -> str:
    return f"2026-12-02T10:00:{second:02d}.000000+00:00"


def row(order_id: str, second: int, **changes: Any) -> dict[str, Any]:
    base = {
        "order_id": order_id,
        "last_activity_at": at(second),
        "message_count": 1,
        "last_dispute": None,
        "dispute": None,
        "unread": 1,
        "unseen_dispute": False,
        "has_news": True,
        "position": second,
    }
    return base | changes


def patch(result: dict[str, Any], fresh: dict[str, Any], alerts: list[dict[str, Any]], **context: Any) -> Any:
    """patchPage(result, fresh, context) in Node.js: the patched page, or None (read the page again)."""
    node = shutil.which("node")
    assert node, "Node.js is needed to run the page's modules"
    ctx = {"type": "all", "q": "", "page": 1, "perPage": PER_PAGE, "alerts": alerts} | context
    script = (
        f"import {{ patchPage }} from {json.dumps(MODULE.as_uri())};\n"
        f"const out = patchPage({json.dumps(result)}, {json.dumps(fresh)}, {json.dumps(ctx)});\n"
        "process.stdout.write(JSON.stringify(out));\n"
    )
    done = subprocess.run(
        [node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def page(*items: dict[str, Any], total: int | None = None, number: int = 1) -> dict[str, Any]:
    return {"items": list(items), "total": len(items) if total is None else total, "page": number, "per_page": 3}


def ids(result: dict[str, Any]) -> list[str]:
    return [item["order_id"] for item in result["items"]]


def posted(position: int, **more: Any) -> dict[str, Any]:
    return {"position": position, "event_type": "MessagePosted", "order_id": "x"} | more


def patch_one(result: dict[str, Any], fresh: dict[str, Any], alert: dict[str, Any], **context: Any) -> Any:
    return patch(result, fresh, [alert], **context)


def test_a_first_message_puts_a_new_row_on_top_and_counts_it() -> None:
    out = patch_one(page(row("b", 50), row("c", 40)), row("a", 55), posted(55))
    assert ids(out) == ["a", "b", "c"] and out["total"] == 3


def test_a_full_page_drops_its_last_row_and_a_listed_thread_moves_up() -> None:
    full = page(row("b", 50), row("c", 40), row("d", 30), total=9)
    new = patch_one(full, row("a", 55), posted(55))
    assert ids(new) == ["a", "b", "c"] and new["total"] == 10
    moved = patch_one(full, row("d", 56, message_count=2), posted(56))
    assert ids(moved) == ["d", "b", "c"] and moved["total"] == 9
    from_later_page = patch_one(full, row("x", 57, message_count=4), posted(57))
    assert ids(from_later_page) == ["x", "b", "c"] and from_later_page["total"] == 9


def test_a_row_is_replaced_in_place_when_it_does_not_move() -> None:
    out = patch_one(
        page(row("b", 50), row("c", 40)),
        row("c", 40, unread=0, position=60),
        {"position": 60, "event_type": "ThreadRead"},
    )
    assert ids(out) == ["b", "c"] and out["items"][1]["unread"] == 0 and out["total"] == 2


def test_the_unread_filter_drops_a_read_row_with_the_bells_total() -> None:
    read = {"position": 60, "event_type": "ThreadRead", "counts": {"threads_with_unread_messages": 1}}
    out = patch_one(page(row("b", 50), row("c", 40)), row("c", 40, unread=0, position=60), read, type="unread")
    assert ids(out) == ["b"] and out["total"] == 1
    more = {**read, "counts": {"threads_with_unread_messages": 4}}  # a row below would move up: unknown here
    assert (
        patch_one(
            page(row("b", 50), row("c", 40), row("d", 30), total=5),
            row("c", 40, unread=0, position=60),
            more,
            type="unread",
        )
        is None
    )


def test_the_disputes_filter_counts_opened_and_closed_disputes() -> None:
    opened = {"position": 58, "event_type": "DisputeOpened"}
    disputed = row("a", 58, dispute={"reason": "Late"}, last_dispute={"reason": "Late"})
    out = patch_one(page(row("b", 50, dispute={"reason": "x"})), disputed, opened, type="disputes")
    assert ids(out) == ["a", "b"] and out["total"] == 2
    closed = {"position": 59, "event_type": "DisputeClosed"}
    back = patch_one(out, row("a", 59, last_dispute={"reason": "Late"}), closed, type="disputes")
    assert ids(back) == ["b"] and back["total"] == 1


def test_what_cannot_be_patched_falls_back_to_a_reload() -> None:
    two = page(row("b", 50), row("c", 40))
    assert patch_one(two, row("a", 55), posted(55), q="parcel") is None  # keywords
    assert patch_one(two, row("a", 55, position=58), posted(55)) is None  # the row moved on since the alert
    later = page(row("b", 50), row("c", 40), row("d", 30), total=9, number=2)
    assert patch_one(later, row("a", 55), posted(55), page=2) is None  # rows shift onto page 2
    assert patch_one(later, row("b", 56, message_count=2), posted(56), page=2) is None  # it moves to page 1
    same_ms = row("a", 50, last_activity_at="2026-12-02T10:00:50.000400+00:00")
    assert (
        patch_one(page(row("b", 50, last_activity_at="2026-12-02T10:00:50.000100+00:00")), same_ms, posted(50)) is None
    )


@pytest.mark.parametrize("event_type", ["ThreadRead", "ThreadMarkedUnread"])
def test_page_two_stays_as_it_is_when_a_thread_elsewhere_is_read(event_type: str) -> None:
    later = page(row("b", 50), row("c", 40), row("d", 30), total=9, number=2)
    out = patch_one(later, row("z", 20, unread=0, position=70), {"position": 70, "event_type": event_type}, page=2)
    assert out == later


def test_several_alerts_of_one_thread_read_one_row() -> None:
    two = page(row("b", 50), row("c", 40))
    first_two = patch(two, row("a", 56, message_count=2), [posted(55), posted(56)])
    assert ids(first_two) == ["a", "b", "c"] and first_two["total"] == 3  # its first messages: it entered
    again = patch(two, row("c", 56, message_count=3), [posted(55), posted(56)])
    assert ids(again) == ["c", "b"] and again["total"] == 2


def test_a_thread_coming_last_on_a_page_with_room_while_rows_follow_is_unknown() -> None:
    unread = {"position": 60, "event_type": "ThreadMarkedUnread", "counts": {"threads_with_unread_messages": 9}}
    full = page(row("b", 50), row("c", 40), row("d", 30), total=8)
    assert patch_one(full, row("z", 10, position=60), unread, type="unread") == full | {"total": 9}  # after the page
    room = page(row("b", 50), row("c", 40), total=8)  # fewer rows than the page holds, yet more rows in the filter
    assert patch_one(room, row("z", 10, position=60), unread, type="unread") is None
