"""Whole-system benchmark (`make bench-system`): every service as `make run` starts it, driven at stepped rates.

Starts the stand-in servers (Tansu, nx-27017, the SMTP catcher) and every service, each its own process, on free
ports in a temporary directory (never the default ports), with `make run`'s settings except the rate limits (off:
the load is a few clients posting for many people). Registers orders of CUSTOMERS customers, connects ``--screens``
admin screens to the bell (ticket flow; after each alert a screen re-reads its list page and total, or reads the
alert's row alone, as the page does since issue 17: ``--screen-modes``, each step run once per mode), then offers
paced posts at each rate of ``--steps`` (default 100, 200, 400, ... until a step is not sustained): customers and
staff post with an Idempotency-Key, each post followed by the poster's read-your-writes list read
(``?after=<position>``); one slot in EXTRA_EVERY also marks unread or opens or closes a dispute. Per step it prints
the rate sustained, the posts' HTTP p50/p99, post -> visible in the poster's list p50/p99, post -> admin bell alert
p99, e-mails sent per second, the consumers' lag at mid-step and at its end, and CPU per post and RSS of every
process. Then, in the same run, a screen's read alone (the list page and its total, the thread's row), the empty
HTTP route (messaging /healthz) and closed-loop posts, the raw event-store append, the raw broker produce and a raw
MongoDB ``insert_many`` of copies of the projections' documents, and the ratios. Stops everything by its process ids
at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from aiokafka import AIOKafkaProducer  # noqa: E402
from bench.system_mix import (  # noqa: E402
    LIST_PAGE,
    SCREEN_MODES,
    VISIBLE_WITHIN,
    Actor,
    Connection,
    HttpError,
    Mix,
    Post,
    Screen,
    StepLog,
)
from bench.system_probe import Usage, consumer_lag, load_average, mail_count, own_usage, relay_backlog, usage  # noqa: E402
from bench.write import raw_broker_rate, raw_store_rates  # noqa: E402
from pymongo import AsyncMongoClient  # noqa: E402

from ordertalk_contracts import ORDERS, Customer, OrderRegisteredV1, dump  # noqa: E402
from ordertalk_devstack.processes import free_port  # noqa: E402
from ordertalk_devstack.stack import Stack, StackPorts, running_stack  # noqa: E402
from ordertalk_messaging.settings import Settings  # noqa: E402
from ordertalk_runtime.auth import AuthSettings, Principal, TokenCodec  # noqa: E402
from ordertalk_runtime.kafka import KafkaSettings, ensure_topics  # noqa: E402

CUSTOMERS = 40
ORDERS_PER_CUSTOMER = 2
STAFF_SHARE = 0.3  # of the posts
DEFAULT_STEPS = (100, 200, 400, 800, 1600, 3200, 6400)
MAX_IN_FLIGHT = 256  # busy slots at most; a due post finding all busy is skipped and counted
SUSTAINED = 0.95  # a step is sustained when this share of its due posts was answered, on time
VISIBLE_GOAL = 0.100  # post -> visible p99 of the step the report names
DRAIN_SECONDS = 15.0
RAW_MONGO_DOCS = 10000  # at most, copied from the projections' largest collection
RAW_MONGO_CHUNK = 500
SETTLE_SECONDS = 60.0  # before a step: the previous step's backlog carried, at most this long
ALERT_WAIT = 5.0
CLOSED_LOOP_CLIENTS = 16
CLOSED_LOOP_SECONDS = 4.0
BENCH_SETTINGS = {"RATE_LIMIT_WRITES_PER_SECOND": "0", "RATE_LIMIT_ANONYMOUS_PER_SECOND": "0"}
SCREEN_COST_READS = 400  # reads of each kind measured alone after the steps
PROCESSES = ("messaging", "projections", "notifier", "web", "kafka", "mongo", "smtp")
LABELS = {"messaging": "messaging+relay", "kafka": "broker", "mongo": "mongod", "smtp": "smtp catcher"}


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``values`` (nan when empty)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def ms(seconds: float) -> str:
    """Seconds as milliseconds."""
    return f"{seconds * 1000:.1f} ms"


@dataclass(frozen=True)
class Cast:
    """The people of the run: customers and staff who post, and the token the admin screens use."""

    actors: list[Actor]
    orders: list[tuple[str, Customer]]
    admin_token: str


def cast(codec: TokenCodec) -> Cast:
    """CUSTOMERS customers with their orders, and enough staff for STAFF_SHARE of the posts."""
    tag = uuid.uuid4().hex[:6]
    actors: list[Actor] = []
    orders: list[tuple[str, Customer]] = []
    for n in range(CUSTOMERS):
        customer = Customer(id=f"bench-{tag}-c{n}", name=f"Customer {n}", email=f"c{n}-{tag}@example.com")
        own = tuple(f"bench-{tag}-o{n}-{k}" for k in range(ORDERS_PER_CUSTOMER))
        orders += [(order_id, customer) for order_id in own]
        principal = Principal("customer", customer.id, customer.name, str(customer.email))
        actors.append(Actor(customer.id, codec.mint(principal), own, staff=False))
    everything = tuple(order_id for order_id, _ in orders)
    staff = round(CUSTOMERS * STAFF_SHARE / (1 - STAFF_SHARE))
    for n in range(staff):
        principal = Principal("admin", f"staff-{n}", f"Staff {n}")
        actors.append(Actor(f"staff-{n}", codec.mint(principal), everything, staff=True))
    admin = codec.mint(Principal("admin", "admin-1", "Admin Admin"))
    return Cast(actors, orders, admin)


async def register(stack: Stack, orders: list[tuple[str, Customer]], admin_token: str) -> None:
    """Announce the orders as the shop would, and wait until messaging and projections both know every one."""
    settings = KafkaSettings(bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"], enable_idempotence=False)
    await ensure_topics(settings, [ORDERS])
    producer = AIOKafkaProducer(**settings.producer_kwargs())
    await producer.start()
    try:
        for n, (order_id, customer) in enumerate(orders):
            event = OrderRegisteredV1(
                event_id=uuid.uuid4(),
                occurred_at=datetime.now(UTC),
                order_id=order_id,
                order_number=f"#{70000 + n:05d}",
                customer=customer,
                placed_at=datetime.now(UTC),
            )
            await producer.send(ORDERS, dump(event), key=order_id.encode())
        await producer.flush()
    finally:
        await producer.stop()
    headers = {"Authorization": f"Bearer {admin_token}"}
    deadline = time.perf_counter() + 90
    async with httpx.AsyncClient(timeout=5) as http:
        for order_id, _ in orders:
            for url in (
                f"{stack.url('messaging')}/v1/orders/{order_id}/history",
                f"{stack.url('projections')}/v1/orders/{order_id}",
            ):
                while (await http.get(url, headers=headers)).status_code != 200:
                    if time.perf_counter() > deadline:
                        raise SystemExit(f"order {order_id} never became known: {url}")
                    await asyncio.sleep(0.1)  # polling the service until its consumer has the order


async def closed_loop(
    connect: Callable[[], Connection], request: Callable[[Connection, int], Awaitable[bool]]
) -> tuple[float, list[float]]:
    """CLOSED_LOOP_CLIENTS clients sending back to back for CLOSED_LOOP_SECONDS: requests/s and latencies."""
    latencies: list[float] = []
    deadline = time.perf_counter() + CLOSED_LOOP_SECONDS

    async def client(n: int) -> int:
        done, connection = 0, connect()
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                if await request(connection, n + done * CLOSED_LOOP_CLIENTS):
                    latencies.append(time.perf_counter() - started)
                    done += 1
        finally:
            await connection.close()
        return done

    started = time.perf_counter()
    counts = await asyncio.gather(*(client(n) for n in range(CLOSED_LOOP_CLIENTS)))
    return sum(counts) / (time.perf_counter() - started), latencies


@dataclass
class Lags:
    """Consumer lag (projections, notifier) and the relay's backlog, at one moment."""

    consumers: dict[str, int]
    relay: int

    @property
    def total(self) -> int:
        """Everything still to be carried."""
        return sum(max(v, 0) for v in self.consumers.values()) + max(self.relay, 0)

    def text(self) -> str:
        """For the report."""
        parts = [f"{name} {value}" for name, value in self.consumers.items()]
        return ", ".join([*parts, f"relay backlog {self.relay}"])


@dataclass
class StepFigures:
    """What the report says about one step."""

    rate: int
    sustained: bool
    visible_p99: float
    growing: bool
    mode: str = "row"


class Bench:
    """The run on a started stack."""

    def __init__(self, stack: Stack, people: Cast, screens: int, modes: list[str]) -> None:
        self.stack, self.people, self.screen_count, self.modes = stack, people, screens, modes
        self.screens: list[Screen] = []
        self.maildir = stack.var / "mail"
        self.alerts: dict[int, float] = {}
        self.empty_rate = self.post_rate = float("nan")  # measured after the steps
        self.http = httpx.AsyncClient(timeout=10)
        host = "127.0.0.1"
        self.mix = Mix((host, stack.ports.messaging), (host, stack.ports.projections), people.actors, MAX_IN_FLIGHT)
        self.pids = {name: proc.pid for name, proc in ((p.name, p) for p in stack.processes) if proc.pid}

    async def lags(self) -> Lags:
        """Consumer lag of projections and notifier, and the relay's backlog."""
        urls = {name: self.stack.url(name) for name in ("projections", "notifier")}
        consumers = await consumer_lag(self.http, urls)
        return Lags(consumers, await relay_backlog(self.http, self.stack.url("messaging")))

    async def settle(self) -> None:
        """Wait until nothing is left to carry (consumers and relay caught up), at most SETTLE_SECONDS."""
        deadline = time.perf_counter() + SETTLE_SECONDS
        while (lags := await self.lags()).total > 0 or any(s.busy for s in self.screens):
            if time.perf_counter() > deadline:
                print(f"  (not caught up after {SETTLE_SECONDS:.0f} s: {lags.text()})")
                return
            await asyncio.sleep(0.2)  # polling the lag until the backlog is carried

    def usages(self) -> dict[str, Usage]:
        """CPU and RSS of every process of the stack (with its children), and of this load client."""
        found = {name: usage(pid) for name, pid in self.pids.items() if name in PROCESSES}
        found["load client"] = own_usage()
        return found

    async def step(self, rate: int, seconds: float, mode: str) -> StepFigures:
        """One paced step with the screens in ``mode``, printed."""
        await self.settle()
        for screen in self.screens:
            screen.mode = mode
        before, mails_before, started = self.usages(), mail_count(self.maildir), time.perf_counter()
        samples: list[Lags] = []

        async def sample() -> None:
            for at in (seconds / 2, seconds):
                await asyncio.sleep(max(0.0, started + at - time.perf_counter()))  # sampling times, not a condition
                samples.append(await self.lags())

        sampler = asyncio.create_task(sample())
        log = await self.mix.step(rate, seconds, DRAIN_SECONDS)
        await sampler
        customer_posts = [p for p in log.posts if not p.staff and p.position is not None]
        wait_until = time.perf_counter() + ALERT_WAIT
        while time.perf_counter() < wait_until and any(p.position not in self.alerts for p in customer_posts):  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # polling the alerts the screens collect
        elapsed = time.perf_counter() - started
        after, mails = self.usages(), mail_count(self.maildir) - mails_before
        figures = self.report(rate, seconds, log, customer_posts, (before, after), (samples, mails / elapsed))
        figures.mode = mode
        return figures

    def report(
        self,
        rate: int,
        seconds: float,
        log: StepLog,
        customer_posts: list[Post],
        usages: tuple[dict[str, Usage], dict[str, Usage]],
        observed: tuple[list[Lags], float],
    ) -> StepFigures:
        """Print one step's figures; answer what the summary needs."""
        samples, mails_per_second = observed
        mode = self.screens[0].mode if self.screens else "-"
        ok = [p for p in log.posts if p.error is None and p.position is not None]
        failed = [p.error for p in log.posts if p.error is not None]
        sustained = len(ok) >= SUSTAINED * log.due and log.seconds <= seconds * 1.05
        print(
            f"\nstep {rate} posts/s offered for {seconds:.0f} s, screens '{mode}':"
            f" {len(ok) / log.seconds:.1f} posts/s done"
            f" ({len(ok)} of {log.due} due answered, {log.skipped} skipped with {MAX_IN_FLIGHT} slots busy,"
            f" {len(failed)} failed) -> {'sustained' if sustained else 'NOT sustained'}"
        )
        if failed:
            print(f"  first failure: {failed[0]}")
        latencies = [p.latency for p in ok]
        print(f"  post HTTP p50 {ms(pct(latencies, 0.5))}  p99 {ms(pct(latencies, 0.99))}")
        visible = [p.visible for p in ok if p.visible is not None]
        print(
            f"  post -> visible in the poster's list: p50 {ms(pct(visible, 0.5))}  p99 {ms(pct(visible, 0.99))}"
            f"  (not visible within {VISIBLE_WITHIN:.0f} s: {len(ok) - len(visible)})"
        )
        print(
            f"  read-your-writes list reads: {len(log.list_reads)}, p50 {ms(pct(log.list_reads, 0.5))}"
            f"  p99 {ms(pct(log.list_reads, 0.99))}; {self.screen_count} admin screens read"
            f" {len(log.screen_reads)} times, p50 {ms(pct(log.screen_reads, 0.5))}"
            f"  p99 {ms(pct(log.screen_reads, 0.99))}; read errors {len(log.read_errors)}"
        )
        alerted = [self.alerts[p.position] - p.sent for p in customer_posts if p.position in self.alerts]
        print(
            f"  post -> admin bell alert: p50 {ms(pct(alerted, 0.5))}  p99 {ms(pct(alerted, 0.99))}"
            f"  ({len(alerted)} of {len(customer_posts)} customer posts alerted)"
        )
        extras = ", ".join(f"{key} x{count}" for key, count in sorted(log.extras.items()))
        print(f"  e-mails sent: {mails_per_second:.1f}/s; other writes (op status x count): {extras or 'none'}")
        mid, end = [*samples, Lags({}, -1), Lags({}, -1)][:2]
        growing = end.total > max(mid.total, rate * 0.5)
        print(f"  lag at mid-step: {mid.text()}; at the end: {end.text()} -> {'GROWING' if growing else 'not growing'}")
        before, after = usages
        posts = max(len(ok), 1)
        cells = []
        for name, now in after.items():
            spent = now.cpu_seconds - before[name].cpu_seconds
            cells.append(f"{LABELS.get(name, name)} {ms(spent / posts)} {now.rss_bytes / 2**20:.0f} MB")
        print(f"  CPU per post, RSS: {'; '.join(cells)}")
        print(f"  {load_average()}")
        visible_p99 = pct(visible, 0.99) if len(visible) == len(ok) else float("inf")
        return StepFigures(rate, sustained, visible_p99, growing)

    async def screen_read_costs(self) -> None:
        """A screen's read after an alert, alone: the list page (its query and its total) against the thread's row,
        SCREEN_COST_READS of each in a row once everything is applied (no wait), CPU per read and latency."""
        connection = Connection("127.0.0.1", self.stack.ports.projections)
        auth = {"Authorization": f"Bearer {self.people.admin_token}"}
        orders = [order_id for order_id, _ in self.people.orders]
        positions: dict[str, int] = {}
        for order_id in orders:  # each thread's position, as its latest alert would say
            status, _, body = await connection.request("GET", f"/v1/threads/{order_id}/row", auth)
            if status == 200:
                positions[order_id] = int(json.loads(body)["position"])
        paths = {
            "page": [f"/v1/threads?per_page={LIST_PAGE}&after={max(positions.values(), default=0)}"],
            "row": [f"/v1/threads/{o}/row?after={p}&after_order={o}" for o, p in positions.items()],
        }
        spent: dict[str, float] = {}
        for mode, choices in paths.items():
            before, latencies = self.usages(), []
            for n in range(SCREEN_COST_READS):
                started = time.perf_counter()
                status, _, _ = await connection.request("GET", choices[n % len(choices)], auth)
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    print(f"  ({mode} read answered {status})")
            after = self.usages()
            cpu = {name: (after[name].cpu_seconds - before[name].cpu_seconds) / SCREEN_COST_READS for name in after}
            spent[mode] = cpu["projections"]
            print(
                f"\na screen's {mode} read alone ({SCREEN_COST_READS} in a row, {len(positions)} threads):"
                f" p50 {ms(pct(latencies, 0.5))}  p99 {ms(pct(latencies, 0.99))}; CPU per read: projections"
                f" {ms(cpu['projections'])}, mongod {ms(cpu['mongo'])}"
            )
        await connection.close()
        print(f"  ratio projections CPU per row read / per page read: {spent['row'] / max(spent['page'], 1e-9):.2f}")

    async def empty_and_closed_loop(self) -> None:
        """The empty route and closed-loop posts, measured now, and their ratio."""
        host, port = "127.0.0.1", self.stack.ports.messaging
        auth = {"Authorization": f"Bearer {self.people.admin_token}"}

        async def empty(connection: Connection, _: int) -> bool:
            try:
                return (await connection.request("GET", "/healthz", {}))[0] == 200
            except HttpError:
                return False

        orders = [order_id for order_id, _ in self.people.orders]

        async def post(connection: Connection, n: int) -> bool:
            key = str(uuid.uuid4())
            body = f'{{"body": "closed-loop {key[:8]}", "message_id": "{key}"}}'.encode()
            headers = auth | {"Idempotency-Key": key}
            try:
                path = f"/v1/orders/{orders[n % len(orders)]}/messages"
                return (await connection.request("POST", path, headers, body))[0] == 201
            except HttpError:
                return False

        empty_rate, empty_lat = await closed_loop(lambda: Connection(host, port), empty)
        post_rate, post_lat = await closed_loop(lambda: Connection(host, port), post)
        print(
            f"\nempty route (messaging GET /healthz), {CLOSED_LOOP_CLIENTS} clients closed loop: {empty_rate:.0f}/s"
            f"  p50 {ms(pct(empty_lat, 0.5))}  p99 {ms(pct(empty_lat, 0.99))}"
        )
        print(
            f"posts, {CLOSED_LOOP_CLIENTS} clients closed loop (no reads): {post_rate:.0f}/s"
            f"  p50 {ms(pct(post_lat, 0.5))}  p99 {ms(pct(post_lat, 0.99))}"
        )
        print(f"  ratio posts / empty route: {post_rate / empty_rate:.2f}  (goal >= 0.50)")
        self.empty_rate, self.post_rate = empty_rate, post_rate

    async def raw(self) -> None:
        """The raw event-store append (no HTTP) and the raw broker produce, on this machine now, and the ratios."""
        kafka = KafkaSettings(bootstrap_servers=self.stack.env["KAFKA_BOOTSTRAP_SERVERS"], enable_idempotence=False)
        await ensure_topics(kafka, ["bench.raw"])
        broker = await raw_broker_rate(kafka)
        store = Settings(EVENT_STORE="sqlite", EVENT_STORE_SQLITE_PATH=self.stack.var / "raw.sqlite")
        many, _, durability = await asyncio.to_thread(raw_store_rates, store)
        print(f"raw event-store append (application layer, sequential, {durability}): {many:.0f} posts/s")
        print(f"raw broker produce (one aiokafka producer, acks=all): {broker:.0f} records/s")
        print(
            f"  ratios: closed-loop posts / raw store {self.post_rate / many:.2f};"
            f" raw broker / closed-loop posts {broker / self.post_rate:.1f}"
        )

    async def raw_mongo(self) -> None:
        """A raw ``insert_many`` of copies of the projections' documents (their largest collection)."""
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(self.stack.env["MONGO_URL"])
        try:
            db = client[self.stack.env["MONGO_DB"]]
            names = [name for name in await db.list_collection_names() if not name.startswith("notifier")]
            sizes = {name: await db[name].estimated_document_count() for name in names}
            source = max(sizes, key=lambda name: sizes[name])
            docs = [doc async for doc in db[source].find({}, {"_id": 0}).limit(RAW_MONGO_DOCS)]
            target = db["bench_raw_copy"]
            started = time.perf_counter()
            for i in range(0, len(docs), RAW_MONGO_CHUNK):
                await target.insert_many(docs[i : i + RAW_MONGO_CHUNK], ordered=False)
            rate = len(docs) / (time.perf_counter() - started)
            await db.drop_collection("bench_raw_copy")
        finally:
            await client.close()
        print(
            f"raw MongoDB insert_many of {len(docs)} copies of '{source}' documents (chunks of {RAW_MONGO_CHUNK}):"
            f" {rate:.0f} docs/s; ratio closed-loop posts / raw docs {self.post_rate / rate:.2f}"
        )

    async def run(self, steps: list[int], seconds: float) -> None:
        """Screens, steps, the empty route; then the summary."""
        await register(self.stack, self.people.orders, self.people.admin_token)
        self.screens = screens = [
            Screen(self.mix, self.stack.url("notifier"), self.people.admin_token, self.alerts if n == 0 else None)
            for n in range(self.screen_count)
        ]
        tasks = [asyncio.create_task(screen.run()) for screen in screens]
        await asyncio.wait_for(asyncio.gather(*(s.connected.wait() for s in screens)), 30)
        print(
            f"{len(self.people.orders)} orders of {CUSTOMERS} customers; {len(self.people.actors) - CUSTOMERS} staff"
            f" ({STAFF_SHARE:.0%} of the posts); {self.screen_count} admin screens on the bell; {load_average()}"
        )
        figures: list[StepFigures] = []
        try:
            for rate in steps:
                at_rate = [await self.step(rate, seconds, mode) for mode in self.modes]
                figures += at_rate
                if not any(f.sustained for f in at_rate):
                    break
            await self.settle()
            await self.screen_read_costs()
            await self.empty_and_closed_loop()
            await self.raw()
            await self.raw_mongo()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.mix.close()
            await self.http.aclose()
        for mode in dict.fromkeys(self.modes):  # each mode once, however often it ran
            self.summary([f for f in figures if f.mode == mode], mode)

    def summary(self, figures: list[StepFigures], mode: str) -> None:
        """The highest steps sustained with the screens in one mode."""
        good = [f for f in figures if f.sustained and f.visible_p99 <= VISIBLE_GOAL and not f.growing]
        best = max((f.rate for f in good), default=None)
        top = max((f.rate for f in figures if f.sustained), default=None)
        print(
            f"\nscreens '{mode}': highest step sustained with post -> visible p99 <= {ms(VISIBLE_GOAL)} and no growing"
            f" lag: {f'{best} posts/s' if best else 'none'}"
            f" (highest sustained at all: {f'{top} posts/s' if top else 'none'}; goal >= 1000 posts/s);"
            f" {load_average()}"
        )
        if top:
            print(f"  ratio highest sustained step / empty route: {top / self.empty_rate:.3f}")


def arguments() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--steps", default=",".join(map(str, DEFAULT_STEPS)), help="posts/s of each step, comma-separated"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each step")
    parser.add_argument("--screens", type=int, default=20, help="admin screens following the bell")
    parser.add_argument(
        "--screen-modes",
        default="row",
        help="comma-separated, each step run once per mode: 'row' (an alert reads its thread's row, as the page does)"
        ", 'page' (an alert re-reads the list page and its total, as the page did before issue 17)",
    )
    return parser.parse_args()


def main() -> None:
    """Start the stack on free ports, run the bench, stop the stack."""
    args = arguments()
    steps = [int(value) for value in args.steps.split(",") if value.strip()]
    modes = [mode.strip() for mode in args.screen_modes.split(",") if mode.strip()]
    if not modes or any(mode not in SCREEN_MODES for mode in modes):
        raise SystemExit(f"--screen-modes: a comma-separated list of {', '.join(SCREEN_MODES)}")
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "MONGO_URL", "SMTP_HOST"):
        os.environ.pop(name, None)  # the stand-ins of this run, never servers configured elsewhere
    os.environ.update(BENCH_SETTINGS)
    names = ("kafka", "mongo", "smtp", "web", "messaging", "projections", "notifier")
    ports = StackPorts(**{name: free_port() for name in names})
    os.environ["CORS_ORIGINS"] = f"http://127.0.0.1:{ports.web}"
    print(f"bench-system: {load_average()}; python {sys.version.split()[0]}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ordertalk-bench-system-") as tmp, running_stack(Path(tmp), ports) as stack:
        codec = TokenCodec(AuthSettings(jwt_secret=stack.env["AUTH_JWT_SECRET"]))
        settings = {k: stack.env.get(k, "(default)") for k in ("EVENT_STORE", "SQLITE_SYNCHRONOUS")}
        print(f"stack up in {tmp}: {', '.join(f'{k}={v}' for k, v in settings.items())}, rate limits off", flush=True)
        asyncio.run(Bench(stack, cast(codec), args.screens, modes).run(steps, args.seconds))


if __name__ == "__main__":
    main()
