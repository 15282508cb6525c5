"""SMTP adapter (aiosmtplib): a small pool of kept-alive connections; errors sorted into transient or permanent."""

from __future__ import annotations

import asyncio
import ssl

import aiosmtplib

from ordertalk_notifier.ports import MailServerUnavailable, PermanentMailError, TransientMailError
from ordertalk_notifier.settings import SmtpSettings

ERRORS = (aiosmtplib.SMTPException, OSError, TimeoutError)
OUTAGE_CODES = frozenset({421})  # "service not available, closing transmission channel"


class SmtpMailer:
    """Mailer over SMTP with STARTTLS/TLS and login as configured; reconnects after any failure."""

    def __init__(self, settings: SmtpSettings, tls_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.tls_context = tls_context
        self._idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()

    def _client(self) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            use_tls=s.tls == "tls",
            start_tls=s.tls == "starttls",
            username=s.username or None,
            password=s.password or None,
            timeout=s.timeout_seconds,
            tls_context=self.tls_context,
        )

    def _idle_client(self) -> aiosmtplib.SMTP | None:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                return client
        return None

    async def _connect(self) -> aiosmtplib.SMTP:
        client = self._client()
        try:
            await client.connect()  # greeting, EHLO, STARTTLS and login as configured
        except ERRORS as exc:
            client.close()
            raise _classify(exc, connecting=True) from exc
        return client

    async def send(self, sender: str, recipient: str, message: bytes) -> None:
        """Send ``message`` to ``recipient``; TransientMailError (MailServerUnavailable when the server does not
        answer or refuses service) or PermanentMailError on failure.

        A kept-alive connection the server has closed meanwhile (its idle timeout, a restart) fails before the
        message is accepted: that one is retried once on a new connection rather than reported as an outage."""
        client = self._idle_client()
        if client is not None:
            try:
                await self._send_on(client, sender, recipient, message, reused=True)
                return
            except _StaleConnection:
                pass
        await self._send_on(await self._connect(), sender, recipient, message, reused=False)

    async def _send_on(
        self, client: aiosmtplib.SMTP, sender: str, recipient: str, message: bytes, reused: bool
    ) -> None:
        try:
            await client.sendmail(sender, [recipient], message)
        except aiosmtplib.SMTPServerDisconnected as exc:
            await _discard(client)
            raise _StaleConnection() if reused else _classify(exc) from exc
        except ERRORS as exc:
            await _discard(client)
            raise _classify(exc) from exc
        except BaseException:
            await _discard(client)
            raise
        self._idle.put_nowait(client)

    async def probe(self) -> None:
        """Connect (greeting, EHLO, TLS, login) and say NOOP; the connection is kept for sending."""
        client = await self._connect()
        try:
            await client.noop()
        except ERRORS as exc:
            await _discard(client)
            raise _classify(exc, connecting=True) from exc
        self._idle.put_nowait(client)

    async def close(self) -> None:
        """Say QUIT on every idle connection."""
        while not self._idle.empty():
            await _discard(self._idle.get_nowait())


class _StaleConnection(Exception):
    """A kept-alive connection turned out closed by the server."""


async def _discard(client: aiosmtplib.SMTP) -> None:
    try:
        if client.is_connected:
            await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()


def _classify(exc: BaseException, connecting: bool = False) -> Exception:
    """Permanent (5xx for this message), transient for this message (other 4xx), or the server unavailable
    (no connection, a timeout, a dropped connection, 421, a refused login, any failure while connecting)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        if codes and all(500 <= c < 600 for c in codes):
            return PermanentMailError("; ".join(f"{r.code} {r.message}" for r in exc.recipients))
        if codes and all(c in OUTAGE_CODES for c in codes):
            return MailServerUnavailable(str(exc))
        return TransientMailError(str(exc))
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):  # a configuration fault: keep, fix, retry
        return MailServerUnavailable(f"authentication failed: {exc.code} {exc.message}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        if exc.code in OUTAGE_CODES or connecting:
            return MailServerUnavailable(f"{exc.code} {exc.message}")
        if 500 <= exc.code < 600:
            return PermanentMailError(f"{exc.code} {exc.message}")
        return TransientMailError(f"{exc.code} {exc.message}")
    if connecting or isinstance(exc, (aiosmtplib.SMTPServerDisconnected, OSError, TimeoutError)):
        return MailServerUnavailable(f"{type(exc).__name__}: {exc}")
    return TransientMailError(f"{type(exc).__name__}: {exc}")
