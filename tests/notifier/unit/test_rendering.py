"""E-mail rendering: headers, both parts, header injection and HTML escaping."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

from ordertalk_threadstate import ThreadState, apply_event
from tests.notifier.events import ADMIN, ThreadBuilder

from ordertalk_contracts import ThreadEvent
from ordertalk_notifier.policy import Links, Notification, notifications_for
from ordertalk_notifier.rendering import Sender, header_text, render, render_bytes

LINKS = Links("store@example.com", "http://web/admin", "http://web/store")
SENDER = Sender("notify@shop.example", "Shop\r\nBcc: evil@example.com")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def only_note(history: list[ThreadEvent]) -> Notification:
    state: ThreadState | None = None
    for event in history:
        state = apply_event(state, event)
    assert state is not None
    [note] = notifications_for(history[-1], state, LINKS)
    return note


def reparse(note: Notification) -> tuple[object, str, str]:
    raw = bytes(render(note, SENDER, NOW))
    msg = message_from_bytes(raw, policy=policy.default)
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return msg, text.get_content(), html.get_content()


def test_store_mail_has_headers_text_and_html() -> None:
    t = ThreadBuilder(order_number="#00011")
    note = only_note([t.started(), t.message(t.customer, "Where is my parcel?")])
    msg, text, html = reparse(note)
    assert msg["To"] == "Store <store@example.com>"  # type: ignore[index]
    assert msg["Reply-To"] == "Jane Doe <jane@example.com>"  # type: ignore[index]
    assert msg["Subject"] == "New message for order #00011 from Jane Doe"  # type: ignore[index]
    assert msg["Date"] == "Fri, 27 Nov 2026 12:00:00 +0000"  # type: ignore[index]
    assert str(msg["Message-ID"]).endswith("@shop.example>")  # type: ignore[index]
    for part in (text, html):
        assert "#00011" in part and "Jane Doe" in part and "Where is my parcel?" in part
        assert f"http://web/admin/orders/{t.order_id}#messages" in part


def test_customer_mail_links_to_the_storefront_and_message_id_is_stable() -> None:
    t = ThreadBuilder()
    note = only_note([t.started(), t.message(ADMIN, "On its way")])
    msg, text, _ = reparse(note)
    assert msg["To"] == "Jane Doe <jane@example.com>"  # type: ignore[index]
    assert f"http://web/store/orders/{t.order_id}" in text
    again = render(note, SENDER, datetime.now(UTC))
    assert again["Message-ID"] == msg["Message-ID"]  # type: ignore[index]


def test_no_header_injection_through_names_order_numbers_or_sender() -> None:
    t = ThreadBuilder(order_number="#1\r\nBcc: a@evil.example", customer_name="Eve\nBcc: b@evil.example\x00")
    note = only_note([t.started(), t.dispute_opened(t.customer, "x\r\nBcc: c@evil.example")])
    raw = bytes(render(note, SENDER, NOW))
    head = raw.split(b"\r\n\r\n", 1)[0]
    header_names = [line.split(b":", 1)[0].lower() for line in head.split(b"\r\n") if line and line[:1] not in b" \t"]
    assert b"bcc" not in header_names
    assert b"\x00" not in raw
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Bcc"] is None
    assert str(msg["Subject"]).strip() == "Dispute opened on order #1 Bcc: a@evil.example by Eve Bcc: b@evil.example"


def test_user_data_is_html_escaped() -> None:
    t = ThreadBuilder(order_number="#<b>1</b>", customer_name='<script>alert("x")</script>')
    note = only_note([t.started(), t.message(t.customer, '<img src=x onerror="boom"> & more')])
    _, text, html = reparse(note)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=&quot;boom&quot;&gt; &amp; more" in html
    assert "&lt;b&gt;1&lt;/b&gt;" in html
    assert '<img src=x onerror="boom"> & more' in text


def test_header_text_cleans_control_and_separator_characters() -> None:
    assert header_text("a\r\nb\tc\u2028d\x1be") == "a b c d e"
    assert len(header_text("x" * 500)) == 150


THREE_LINES = "Thanks, it arrived.\nBut the lid is cracked.\nCan you send a new one?"


def test_line_breaks_survive_in_both_parts_of_both_paths() -> None:
    t = ThreadBuilder()
    history: list[ThreadEvent] = [t.started(), t.message(t.customer, THREE_LINES)]
    notes = [only_note(history)]
    history.append(t.message(ADMIN, "Sure.\n\nA new one & a <label>\nships today."))
    notes.append(only_note(history))
    history.append(t.dispute_opened(t.customer, "Cracked lid.\nSecond time."))
    notes.append(only_note(history))
    expected_html = [
        "Thanks, it arrived.<br>But the lid is cracked.<br>Can you send a new one?",
        "Sure.<br><br>A new one &amp; a &lt;label&gt;<br>ships today.",
        "Cracked lid.<br>Second time.",
    ]
    expected_text = [
        "\n    Thanks, it arrived.\n    But the lid is cracked.\n    Can you send a new one?\n",
        "\n    Sure.\n\n    A new one & a <label>\n    ships today.\n",
        "\n    Cracked lid.\n    Second time.\n",
    ]
    plain_sender = Sender("notify@shop.example", "Shop")
    for note, html, text in zip(notes, expected_html, expected_text, strict=True):
        for raw in (bytes(render(note, plain_sender, NOW)), render_bytes(note, plain_sender, NOW)):
            _, text_part, html_part = parsed(raw)
            assert text in text_part.replace("\r\n", "\n")
            assert html in html_part


def parsed(raw: bytes) -> tuple[dict[str, str], str, str]:
    msg = message_from_bytes(raw, policy=policy.default)
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    skip = {"Content-Type", "Content-Transfer-Encoding"}
    headers = {k: " ".join(str(v).split()) for k, v in msg.items() if k not in skip}  # the package folds long ones
    return headers, text.get_content(), html.get_content()


def test_the_light_path_says_what_the_email_package_says() -> None:
    plain = Sender("notify@shop.example", 'Shop "Main"')
    t = ThreadBuilder(order_number="#<b>7</b>")
    long_text = "Où est mon colis ? " * 20 + '\n. a dot line\n  trailing spaces   \n=3D <tag> & "quotes"'
    history = [t.started(), t.message(t.customer, long_text)]
    notes = [only_note(history), only_note([*history, t.message(ADMIN, "On its way")])]
    eve = ThreadBuilder(order_number="#1\r\nBcc: a@evil.example", customer_name="Eve\nBcc: b@evil.example\x00")
    notes.append(only_note([eve.started(), eve.dispute_opened(eve.customer, "x\r\nBcc: c@evil.example")]))
    zoe = ThreadBuilder(customer_name="Zoë Ünal")  # not plain ASCII: the email package writes it
    notes.append(only_note([zoe.started(), zoe.message(zoe.customer, "Bonjour")]))
    for sender in (plain, SENDER):
        for note in notes:
            light = render_bytes(note, sender, NOW)
            assert b"\x00" not in light
            head = light.split(b"\r\n\r\n", 1)[0]
            assert b"bcc" not in [line.split(b":", 1)[0].lower() for line in head.split(b"\r\n")]
            assert parsed(light) == parsed(bytes(render(note, sender, NOW)))
