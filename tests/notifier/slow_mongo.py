"""A slow database for the tests: a TCP proxy in front of a MongoDB-wire server that holds back every reply."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from types import TracebackType

from pymongo.uri_parser import parse_uri


@dataclass
class DelayingProxy:
    """Listens on a free loopback port and forwards to the server of ``mongo_url``, each request and each reply
    ``delay`` seconds late (in order), as over a slow network to a busy server. Runs its own event loop in a
    thread."""

    mongo_url: str
    delay: float
    port: int = 0
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _thread: threading.Thread | None = None
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """The URL the client uses instead of ``mongo_url`` (a direct connection: no replica-set discovery, which
        would lead the driver past the proxy)."""
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def __enter__(self) -> DelayingProxy:
        self._thread = threading.Thread(target=self._loop.run_forever, name="delaying-proxy", daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop.close()

    async def _listen(self) -> asyncio.Server:
        return await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = asyncio.all_tasks() - {asyncio.current_task()}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _serve(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        host, port = parse_uri(self.mongo_url)["nodelist"][0]
        try:
            server_in, server_out = await asyncio.open_connection(host, port)
        except OSError:
            client_out.close()
            return
        try:
            await asyncio.gather(self._relay(client_in, server_out), self._relay(server_in, client_out))
        except (OSError, asyncio.CancelledError):  # a dropped connection, or the proxy closing: end quietly
            pass
        finally:
            server_out.close()
            client_out.close()

    async def _relay(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        """Forward what ``source`` sends, each piece ``delay`` seconds after it arrived, in order."""
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def read() -> None:
            while data := await source.read(65536):
                pieces.put_nowait((loop.time() + self.delay, data))
            pieces.put_nowait((loop.time() + self.delay, b""))

        async def write() -> None:
            while True:
                due, data = await pieces.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                if not data:
                    sink.close()
                    return
                sink.write(data)
                await sink.drain()

        await asyncio.gather(read(), write())
