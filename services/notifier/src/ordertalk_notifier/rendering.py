"""Notification -> e-mail (plain text + HTML) with safe headers; pure, no I/O."""

from __future__ import annotations

import binascii
import hashlib
import html
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from importlib.resources import files
from string import Template

from ordertalk_notifier.policy import Kind, Notification, Recipient

MAX_HEADER_TEXT = 150
QUOTE_INDENT = "    "  # each line of the quoted message or reason in the text/plain part
_ROLE_LABELS = {"admin": "store", "customer": "customer", "vendor": "vendor", "system": "system"}


@dataclass(frozen=True, slots=True)
class Sender:
    """Who the e-mails come from."""

    address: str
    name: str


def header_text(value: str, limit: int = MAX_HEADER_TEXT) -> str:
    """Text safe for a header: control and line-separator characters become spaces, runs of space collapse."""
    cleaned = "".join(" " if unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} else ch for ch in value)
    line = " ".join(cleaned.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def body_text(value: str) -> str:
    """Text safe for a body: line breaks and tabs kept, other control characters dropped."""
    return "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch) not in {"Cc", "Cf", "Zl", "Zp"})


def subject(note: Notification) -> str:
    """The Subject line (user data cleaned)."""
    number, who = header_text(note.order_number, 50), header_text(note.author_name, 80)
    if note.kind == "message":
        if note.recipient.audience == "customer":
            return f"New message about your order {number}"
        return f"New message for order {number} from {who}"
    verb = "opened" if note.kind == "dispute_opened" else "closed"
    return f"Dispute {verb} on order {number} by {who}"


def message_id(note: Notification, domain: str) -> str:
    """A Message-ID derived from the event and the recipient, so a resend carries the same one."""
    digest = hashlib.sha256(note.key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def _address(who: Recipient) -> Address:
    username, _, domain = who.email.strip().partition("@")
    return Address(display_name=header_text(who.name, 80), username=username, domain=domain)


@cache
def _template(kind: Kind, ext: str) -> Template:
    source = files("ordertalk_notifier").joinpath("templates", f"{kind}.{ext}").read_text(encoding="utf-8")
    return Template(source)


def _fields(note: Notification, signature: str) -> dict[str, str]:
    return {
        "recipient_name": header_text(note.recipient.name, 80),
        "author_name": header_text(note.author_name, 80),
        "author_label": _ROLE_LABELS.get(note.author_role, note.author_role),
        "order_number": header_text(note.order_number, 50),
        "text": body_text(note.text),
        "link": note.link,
        "signature": signature,
    }


def _parts(note: Notification, sender: Sender) -> tuple[str, str]:
    """The text/plain and text/html bodies; the quoted text keeps its line breaks in both."""
    fields = _fields(note, header_text(sender.name, 80))
    lines = fields["text"].split("\n")
    text = {**fields, "text": "\n".join(f"{QUOTE_INDENT}{line}" if line else "" for line in lines)}
    escaped = {k: html.escape(v, quote=True) for k, v in fields.items()}
    escaped["text"] = "<br>".join(html.escape(line, quote=True) for line in lines)
    return _template(note.kind, "txt").substitute(text), _template(note.kind, "html").substitute(escaped)


def render(note: Notification, sender: Sender, now: datetime) -> EmailMessage:
    """The full e-mail for a notification: headers, a text/plain part and a text/html alternative."""
    domain = sender.address.rpartition("@")[2] or "localhost"
    msg = EmailMessage(policy=email_policy.SMTP)
    msg["Subject"] = subject(note)
    msg["From"] = Address(display_name=header_text(sender.name, 80), addr_spec=sender.address)
    msg["To"] = _address(note.recipient)
    if note.reply_to is not None:
        msg["Reply-To"] = _address(note.reply_to)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(note, domain)
    msg["X-Ordertalk-Event-Id"] = header_text(note.event_id, 64)
    msg["Auto-Submitted"] = "auto-generated"
    text, markup = _parts(note, sender)
    msg.set_content(text)
    msg.add_alternative(markup, subtype="html")
    return msg


# The light path: the same e-mail built as bytes from cached pieces, without the email package's header machinery
# (a few ms per e-mail). It takes only values it can write verbatim (printable ASCII headers, plain addresses);
# anything else falls back to ``render``.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")
_PLAIN_HEADER = re.compile(r"[\x20-\x7e]*")


def _plain(value: str) -> bool:
    return _PLAIN_HEADER.fullmatch(value) is not None


def _mailbox(name: str, address: str) -> str | None:
    """``"Name" <address>`` when it can be written verbatim, else None."""
    address = address.strip()
    display = header_text(name, 80)
    if _PLAIN_ADDRESS.fullmatch(address) is None or not _plain(display):
        return None
    if not display:
        return address
    quoted = display.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{address}>'


@cache
def _from_header(sender: Sender) -> str | None:
    return _mailbox(sender.name, sender.address)


def _qp(text: str) -> bytes:
    return binascii.b2a_qp(text.encode(), istext=True).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def render_bytes(note: Notification, sender: Sender, now: datetime) -> bytes:
    """The wire bytes of ``render(note, sender, now)``, built directly (same headers and parts)."""
    from_header = _from_header(sender)
    to = _mailbox(note.recipient.name, note.recipient.email)
    reply_to = None if note.reply_to is None else _mailbox(note.reply_to.name, note.reply_to.email)
    title = subject(note)
    event_id = header_text(note.event_id, 64)
    if (
        from_header is None
        or to is None
        or (note.reply_to is not None and reply_to is None)
        or not _plain(title)
        or not _plain(event_id)
    ):
        return bytes(render(note, sender, now))
    domain = sender.address.rpartition("@")[2] or "localhost"
    boundary = f"=_{secrets.token_hex(16)}"
    headers = [
        f"Subject: {title}",
        f"From: {from_header}",
        f"To: {to}",
        *([f"Reply-To: {reply_to}"] if reply_to is not None else []),
        f"Date: {format_datetime(now)}",
        f"Message-ID: {message_id(note, domain)}",
        f"X-Ordertalk-Event-Id: {event_id}",
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    text, markup = _parts(note, sender)
    part = 'Content-Type: text/{}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    return b"".join(
        [
            "\r\n".join(headers).encode(),
            f"\r\n\r\n--{boundary}\r\n{part.format('plain')}".encode(),
            _qp(text),
            f"\r\n--{boundary}\r\n{part.format('html')}".encode(),
            _qp(markup),
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
