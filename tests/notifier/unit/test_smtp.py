"""SMTP adapter configuration and how it sorts server answers into transient and permanent failures."""

from __future__ import annotations

import aiosmtplib
import pytest

from ordertalk_notifier.adapters.smtp import SmtpMailer, _classify
from ordertalk_notifier.ports import MailServerUnavailable, PermanentMailError, TransientMailError
from ordertalk_notifier.settings import SmtpSettings


@pytest.mark.parametrize(
    ("tls", "use_tls", "start_tls"), [("none", False, False), ("starttls", False, True), ("tls", True, False)]
)
def test_tls_modes_and_login_reach_the_client(tls: str, use_tls: bool, start_tls: bool) -> None:
    settings = SmtpSettings(host="mx.example", port=2525, tls=tls, username="u", password="p")
    client = SmtpMailer(settings)._client()
    assert (client.hostname, client.port) == ("mx.example", 2525)
    assert client.use_tls is use_tls and client._start_tls_on_connect is start_tls
    assert (client._login_username, client._login_password) == ("u", "p")


def test_answers_are_sorted_into_transient_and_permanent() -> None:
    refused = aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "no such user", "a@x.example")])
    assert isinstance(_classify(refused), PermanentMailError)
    busy = aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(451, "later", "a@x.example")])
    assert isinstance(_classify(busy), TransientMailError)
    assert isinstance(_classify(aiosmtplib.SMTPDataError(554, "rejected")), PermanentMailError)
    assert isinstance(_classify(aiosmtplib.SMTPDataError(452, "full")), TransientMailError)
    assert isinstance(_classify(aiosmtplib.SMTPConnectError("refused")), TransientMailError)
    assert isinstance(_classify(ConnectionResetError()), TransientMailError)


def test_the_server_not_answering_is_an_outage_one_recipients_4xx_is_not() -> None:
    outage = [
        aiosmtplib.SMTPConnectError("refused"),
        ConnectionRefusedError(),
        aiosmtplib.SMTPServerDisconnected("gone"),
        aiosmtplib.SMTPReadTimeoutError("slow"),
        aiosmtplib.SMTPDataError(421, "shutting down"),
        aiosmtplib.SMTPAuthenticationError(535, "bad credentials"),
        aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(421, "closing", "a@x.example")]),
    ]
    assert all(isinstance(_classify(exc), MailServerUnavailable) for exc in outage)
    assert isinstance(_classify(aiosmtplib.SMTPHeloError(554, "go away"), connecting=True), MailServerUnavailable)
    busy = aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(451, "later", "a@x.example")])
    for exc in (busy, aiosmtplib.SMTPDataError(452, "full")):
        found = _classify(exc)
        assert isinstance(found, TransientMailError) and not isinstance(found, MailServerUnavailable)
