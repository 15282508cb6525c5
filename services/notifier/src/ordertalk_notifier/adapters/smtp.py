"""SMTP adapter (aiosmtplib): a small pool of kept-alive connections; errors sorted into transient or permanent."""

from __future__ import annotations

import asyncio
import ssl

import aiosmtplib

from ordertalk_notifier.ports import PermanentMailError, TransientMailError
from ordertalk_notifier.settings import SmtpSettings


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

    async def _take(self) -> aiosmtplib.SMTP:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                return client
        client = self._client()
        await client.connect()
        return client

    async def send(self, sender: str, recipient: str, message: bytes) -> None:
        """Send ``message`` to ``recipient``; TransientMailError / PermanentMailError on failure."""
        try:
            client = await self._take()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise _classify(exc) from exc
        try:
            await client.sendmail(sender, [recipient], message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await _discard(client)
            raise _classify(exc) from exc
        except BaseException:
            await _discard(client)
            raise
        self._idle.put_nowait(client)

    async def close(self) -> None:
        """Say QUIT on every idle connection."""
        while not self._idle.empty():
            await _discard(self._idle.get_nowait())


async def _discard(client: aiosmtplib.SMTP) -> None:
    try:
        if client.is_connected:
            await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()


def _classify(exc: BaseException) -> Exception:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        if codes and all(500 <= c < 600 for c in codes):
            return PermanentMailError("; ".join(f"{r.code} {r.message}" for r in exc.recipients))
        return TransientMailError(str(exc))
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return TransientMailError(f"authentication failed: {exc}")  # a configuration fault: keep, fix, retry
    if isinstance(exc, aiosmtplib.SMTPResponseException) and 500 <= exc.code < 600:
        return PermanentMailError(f"{exc.code} {exc.message}")
    return TransientMailError(f"{type(exc).__name__}: {exc}")
