"""The whole-system benchmark's load: paced posts by customers and staff, each followed by its read-your-writes
list read, a few mark-unread and dispute open/close, and admin screens that follow the bell and refresh their list
(re-reading the page, or reading the alert's row: ``Screen.mode``).

The client is asyncio with a minimal HTTP/1.1 keep-alive connection (it shares the two cores with the system, so it
must cost little per request); the bell streams go through httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field

import httpx

POSITION_HEADER = b"x-projection-position"
VISIBLE_WITHIN = 15.0  # a post not visible in its poster's list by then counts as never visible
EXTRA_EVERY = 20  # one slot in this many also marks unread, or opens or closes a dispute
LIST_PAGE = 25  # the screens' page size (the API's default)


class HttpError(Exception):
    """A request that got no complete HTTP answer."""


class Connection:
    """A minimal HTTP/1.1 keep-alive connection answering (status, headers, body); Content-Length bodies only."""

    def __init__(self, host: str, port: int, timeout: float = 20.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._fixed = f"Host: {host}:{port}\r\nContent-Type: application/json\r\n".encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, dict[bytes, bytes], bytes]:
        """Send one request; reconnects if the server closed the connection.

        A kept-alive connection the server closed while idle (uvicorn after 5 s) fails before any answer byte:
        the request is then sent once more on a new connection, as HTTP clients do (every write carries an
        Idempotency-Key, so a second try cannot post twice).
        """
        for attempt in (1, 2):
            reused = self._writer is not None
            try:
                async with asyncio.timeout(self.timeout):
                    return await self._exchange(method, path, headers, body)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as exc:
                await self.close()
                if attempt == 1 and reused and _closed_while_idle(exc):
                    continue
                raise HttpError(f"{type(exc).__name__}: {exc}") from exc
        raise AssertionError("unreachable")

    async def _exchange(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[bytes, bytes], bytes]:
        if self._writer is None or self._reader is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._reader, self._writer
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(f"{method} {path} HTTP/1.1\r\n{extra}Content-Length: {len(body)}\r\n".encode() + self._fixed)
        writer.write(b"\r\n" + body)
        lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        found: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name:
                found[name.strip().lower()] = value.strip()
        if b"transfer-encoding" in found:
            raise ValueError("chunked answers are not supported by the bench client")
        length = int(found.get(b"content-length", b"0"))
        content = await reader.readexactly(length) if length else b""
        if found.get(b"connection", b"").lower() == b"close":
            await self.close()
        return status, found, content

    async def close(self) -> None:
        """Close the connection (a later request opens a new one)."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def _closed_while_idle(exc: Exception) -> bool:
    """Whether a request failed because the server had closed the connection before it (no answer byte came)."""
    if isinstance(exc, asyncio.IncompleteReadError):
        return not exc.partial
    return isinstance(exc, ConnectionResetError | BrokenPipeError)


@dataclass(frozen=True)
class Actor:
    """Who posts: a customer on their own orders, or staff on any order."""

    name: str
    token: str
    orders: tuple[str, ...]
    staff: bool

    @property
    def auth(self) -> dict[str, str]:
        """The Authorization header of this actor."""
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Post:
    """One post and what followed it; times in seconds (perf_counter)."""

    sent: float
    staff: bool
    latency: float = float("nan")
    position: int | None = None
    visible: float | None = None  # post sent -> its poster's list read shows the post's position
    error: str | None = None


@dataclass
class StepLog:
    """Everything the load saw during one step."""

    posts: list[Post] = field(default_factory=list)
    list_reads: list[float] = field(default_factory=list)  # the posters' read-your-writes reads
    screen_reads: list[float] = field(default_factory=list)  # admin screens' reads after bell alerts (page or row)
    extras: dict[str, int] = field(default_factory=dict)  # "<op> <status>" -> count
    read_errors: list[str] = field(default_factory=list)
    skipped: int = 0  # due posts that found every slot busy
    due: int = 0
    seconds: float = 0.0

    def note_extra(self, key: str) -> None:
        """Count one mark-unread / dispute request by its answer."""
        self.extras[key] = self.extras.get(key, 0) + 1


class Slot:
    """One client's connections: to messaging (writes) and to projections (reads)."""

    def __init__(self, messaging: tuple[str, int], projections: tuple[str, int]) -> None:
        self.messaging = Connection(*messaging)
        self.projections = Connection(*projections)

    async def close(self) -> None:
        """Close both connections."""
        await self.messaging.close()
        await self.projections.close()


class Mix:
    """Paced steps of the mix over ``actors`` (at most ``max_in_flight`` slots busy at once)."""

    def __init__(
        self, messaging: tuple[str, int], projections: tuple[str, int], actors: list[Actor], max_in_flight: int
    ) -> None:
        self.messaging, self.projections, self.actors = messaging, projections, actors
        self.max_in_flight = max_in_flight
        self.log = StepLog()
        self._idle: list[Slot] = []
        self._made = 0
        self._serial = 0

    async def step(self, rate: int, seconds: float, drain: float) -> StepLog:
        """Offer ``rate`` posts/s for ``seconds``; wait up to ``drain`` for the slots still busy; the step's log."""
        log = self.log = StepLog(due=int(rate * seconds))
        in_flight: set[asyncio.Task[None]] = set()
        started = time.perf_counter()
        for i in range(log.due):
            self._serial += 1
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the load, not waiting for a condition
            slot = self._slot()
            if slot is None:
                log.skipped += 1
                continue
            task = asyncio.create_task(self._one(slot, self._serial, log))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        log.seconds = time.perf_counter() - started
        if in_flight:
            await asyncio.wait(in_flight, timeout=drain)
        for task in list(in_flight):
            task.cancel()
        return log

    def _slot(self) -> Slot | None:
        if self._idle:
            return self._idle.pop()
        if self._made < self.max_in_flight:
            self._made += 1
            return Slot(self.messaging, self.projections)
        return None

    async def _one(self, slot: Slot, serial: int, log: StepLog) -> None:
        actor = self.actors[serial % len(self.actors)]
        order_id = actor.orders[(serial // len(self.actors)) % len(actor.orders)]
        post = Post(time.perf_counter(), actor.staff)
        log.posts.append(post)
        try:
            await self._post(slot, actor, order_id, post)
            if post.position is not None:
                await self._read_own_write(slot, actor, post, log)
            if serial % EXTRA_EVERY == 0:
                await self._extra(slot, actor, order_id, serial // EXTRA_EVERY, log)
        finally:
            self._idle.append(slot)

    async def _post(self, slot: Slot, actor: Actor, order_id: str, post: Post) -> None:
        key = str(uuid.uuid4())
        payload = json.dumps({"body": f"bench message {key[:8]} from {actor.name}", "message_id": key}).encode()
        headers = actor.auth | {"Idempotency-Key": key}
        try:
            status, _, content = await slot.messaging.request(
                "POST", f"/v1/orders/{order_id}/messages", headers, payload
            )
        except HttpError as exc:
            post.error = str(exc)
            return
        post.latency = time.perf_counter() - post.sent
        if status != 201:
            post.error = f"{status} {content[:160].decode(errors='replace')}"
            return
        post.position = int(json.loads(content)["position"])

    async def _read_own_write(self, slot: Slot, actor: Actor, post: Post, log: StepLog) -> None:
        """The poster's list, read with ``?after=<position>`` until it shows the post (the wait is the server's)."""
        assert post.position is not None
        path = f"/v1/threads?per_page={LIST_PAGE}&after={post.position}"
        while time.perf_counter() - post.sent < VISIBLE_WITHIN:
            started = time.perf_counter()
            try:
                status, headers, _ = await slot.projections.request("GET", path, actor.auth)
            except HttpError as exc:
                log.read_errors.append(str(exc))
                return
            now = time.perf_counter()
            log.list_reads.append(now - started)
            if status != 200:
                log.read_errors.append(f"list {status}")
                return
            if int(headers.get(POSITION_HEADER, b"0")) >= post.position:
                post.visible = now - post.sent
                return

    async def _extra(self, slot: Slot, actor: Actor, order_id: str, turn: int, log: StepLog) -> None:
        """Mark unread, open a dispute, or close it, in turn (a 409 for a dispute already open or closed is fine)."""
        op, path = (("unread", "unread"), ("open", "dispute"), ("close", "dispute/close"))[turn % 3]
        body = json.dumps({"reason": f"bench dispute by {actor.name}"}).encode() if op == "open" else b""
        headers = actor.auth | {"Idempotency-Key": str(uuid.uuid4())}
        try:
            status, _, _ = await slot.messaging.request("POST", f"/v1/orders/{order_id}/{path}", headers, body)
        except HttpError as exc:
            status = -1
            log.read_errors.append(f"{op}: {exc}")
        log.note_extra(f"{op} {status}")

    async def close(self) -> None:
        """Close every idle slot's connections."""
        for slot in self._idle:
            await slot.close()
        self._idle.clear()


SCREEN_MODES = ("page", "row")  # page: each alert re-reads the list page and its total (the old page); row: the row


class Screen:
    """An admin Messages screen: follows the bell stream (ticket flow) and refreshes its list after each alert.

    ``mode`` "page" behaves as the page did before issue 17: a reload of the list page (its query and its total)
    after alerts, coalesced (alerts that come while a reload runs cause one more, with the newest position).
    ``mode`` "row" behaves as the page does now on page 1 of the unfiltered list: alerts read the rows of the threads
    they name (``/v1/threads/{order_id}/row``, waiting for the thread's latest alert's position); alerts that come
    while rows are read wait, then each thread's are handled together (one row read per thread).
    """

    def __init__(self, mix: Mix, notifier: str, token: str, alerts: dict[int, float] | None) -> None:
        self.mix, self.notifier, self.token = mix, notifier, token
        self.alerts = alerts  # position -> first arrival, kept by one screen only
        self.connection = Connection(*mix.projections)
        self.mode = "row"
        self._wanted: int | None = None
        self._rows: dict[str, int] = {}  # order id -> its latest alert's position, in the order of those
        self._reloading = False
        self.connected = asyncio.Event()

    @property
    def busy(self) -> bool:
        """Whether reads are still due for alerts received."""
        return self._reloading

    async def run(self) -> None:
        """Follow the bell until cancelled."""
        auth = {"Authorization": f"Bearer {self.token}"}
        async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=None)) as http:
            ticket = (await http.post(f"{self.notifier}/v1/stream/tickets", headers=auth)).json()["ticket"]
            async with http.stream("GET", f"{self.notifier}/v1/stream", params={"ticket": ticket}) as response:
                response.raise_for_status()
                self.connected.set()
                event = None
                async for line in response.aiter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:") and event == "bell":
                        self._alert(json.loads(line[5:]))

    def _alert(self, alert: dict[str, object]) -> None:
        position, order_id = alert.get("position"), alert.get("order_id")
        if not isinstance(position, int):
            return
        if self.alerts is not None:
            self.alerts.setdefault(position, time.perf_counter())
        if self.mode == "row" and isinstance(order_id, str):
            self._rows.pop(order_id, None)
            self._rows[order_id] = position
        else:
            self._wanted = max(self._wanted or 0, position)
        if not self._reloading:
            self._reloading = True
            asyncio.get_running_loop().create_task(self._reload())

    async def _reload(self) -> None:
        try:
            while self._wanted is not None or self._rows:
                if self._rows:
                    rows, self._rows = self._rows, {}
                    for order_id, position in rows.items():
                        await self._read(f"/v1/threads/{order_id}/row?after={position}&after_order={order_id}")
                else:
                    wanted, self._wanted = self._wanted, None
                    await self._read(f"/v1/threads?per_page={LIST_PAGE}&after={wanted}")
        finally:
            self._reloading = False

    async def _read(self, path: str) -> None:
        auth = {"Authorization": f"Bearer {self.token}"}
        started = time.perf_counter()
        try:
            status, _, _ = await self.connection.request("GET", path, auth)
        except HttpError as exc:
            self.mix.log.read_errors.append(f"screen: {exc}")
            return
        self.mix.log.screen_reads.append(time.perf_counter() - started)
        if status != 200:
            self.mix.log.read_errors.append(f"screen read {status}")
