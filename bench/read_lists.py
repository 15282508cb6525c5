"""The read API's lists and bell at a filled store's size, each beside the bare driver queries of the same answer.

Every case is one HTTP request shape (an admin's or a customer's) and the driver calls that answer the same
page and total with the filters the service sends (``mongo_queries.list_filters``): a ``find`` with the page
filter, sort, skip and limit plus a ``$match``/``$count`` aggregation of the total's filter; beside it the same
page as an ``aggregate`` pipeline.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from tests.projections.harness import auth

from ordertalk_projections.adapters.mongo_queries import (
    ORDER_SORT,
    THREAD_SORT,
    list_filters,
    orders_filters,
    thread_filter,
)
from ordertalk_projections.domain.generations import Generation
from ordertalk_projections.domain.reading import BELL_FIGURES, OrderMessages, ThreadType, Viewer

Doc = dict[str, Any]
PER_PAGE = 25
PAGES = 5  # requests cycle through pages 1..PAGES
ADMIN_ID = "staff-1"


@dataclass(frozen=True)
class Case:
    """One read: the HTTP request and, for the bare driver, the collection, filters and sort."""

    name: str
    path: str
    params: dict[str, str]
    role: str
    subject: str
    collection: str
    page_filter: Doc | None  # None: no page (the bell)
    count_filters: tuple[Doc, ...]
    sort: list[tuple[str, int]]


def thread_case(name: str, viewer: Viewer, subject: str, kind: ThreadType, q: str | None, gen: Generation) -> Case:
    """A thread list of ``kind`` (and keyword ``q``) as the viewer asks for it."""
    flt, total = list_filters(viewer, q, kind)
    params = {"type": kind} | ({"q": q} if q else {})
    role = "admin" if viewer.customer_id is None else "customer"
    return Case(name, "/v1/threads", params, role, subject, gen.threads, flt, (total,), THREAD_SORT)


def order_case(name: str, viewer: Viewer, subject: str, messages: OrderMessages, gen: Generation) -> Case:
    """The Orders list with its messages filter."""
    flt, total = orders_filters(viewer, messages)
    role = "admin" if viewer.customer_id is None else "customer"
    return Case(name, "/v1/orders", {"messages": messages}, role, subject, gen.orders, flt, (total,), ORDER_SORT)


def bell_case(name: str, viewer: Viewer, subject: str, gen: Generation) -> Case:
    """The bell: its three figures, each counted with its list filter (as the service does)."""
    flts = tuple(thread_filter(viewer, None, kind) for kind in BELL_FIGURES)
    role = "admin" if viewer.customer_id is None else "customer"
    return Case(name, "/v1/bell", {}, role, subject, gen.threads, None, flts, THREAD_SORT)


def cases(gen: Generation, word: str, customer: str) -> list[Case]:
    """Every read measured: the admin's lists, orders and bell, and one customer's."""
    admin = Viewer.of("admin", ADMIN_ID)
    cust = Viewer.of("customer", customer)
    return [
        thread_case("threads all", admin, ADMIN_ID, "all", None, gen),
        thread_case("threads unread", admin, ADMIN_ID, "unread", None, gen),
        thread_case("threads open disputes", admin, ADMIN_ID, "disputes", None, gen),
        thread_case(f"threads q={word} + unread", admin, ADMIN_ID, "unread", word, gen),
        thread_case(f"threads q={word}", admin, ADMIN_ID, "all", word, gen),
        order_case("orders all", admin, ADMIN_ID, "all", gen),
        order_case("orders with unread messages", admin, ADMIN_ID, "unread", gen),
        order_case("orders with messages", admin, ADMIN_ID, "any", gen),
        bell_case("bell (admin)", admin, ADMIN_ID, gen),
        thread_case("customer: threads all", cust, customer, "all", None, gen),
        order_case("customer: orders all", cust, customer, "all", gen),
        bell_case("customer: bell", cust, customer, gen),
    ]


BUDGET = 15.0  # seconds per case and form: a read that takes seconds is measured fewer times (n is printed)
MIN_CALLS = 10


async def timed(calls: int, one: Callable[[int], Awaitable[None]]) -> list[float]:
    """Durations of ``calls`` sequential calls of ``one(i)`` (fewer, but MIN_CALLS, past BUDGET seconds)."""
    times: list[float] = []
    started = time.perf_counter()
    for i in range(calls):
        if len(times) >= MIN_CALLS and time.perf_counter() - started > BUDGET:
            break
        t = time.perf_counter()
        await one(i)
        times.append(time.perf_counter() - t)
    return times


async def http_times(client: httpx.AsyncClient, url: str, case: Case, calls: int) -> list[float]:
    """The API's latency for a case, pages 1..PAGES in turn; every answer must carry its total."""
    headers = auth(case.role, case.subject)

    async def one(i: int) -> None:
        params = case.params | ({"page": str(1 + i % PAGES), "per_page": str(PER_PAGE)} if case.page_filter else {})
        r = await client.get(f"{url}{case.path}", params=params, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert "total" in body or case.page_filter is None, body

    await one(0)  # warm
    return await timed(calls, one)


async def count(coll: AsyncCollection[Doc], flt: Doc) -> int:
    """An exact count as a ``$match`` + ``$count`` aggregation."""
    rows = await (await coll.aggregate([{"$match": flt}, {"$count": "n"}])).to_list(1)
    return int(rows[0]["n"]) if rows else 0


async def bare_times(coll: AsyncCollection[Doc], case: Case, calls: int, form: str) -> list[float]:
    """The bare driver's latency for a case: the page (``find`` or ``aggregate`` form) and the counts."""

    async def one(i: int) -> None:
        if case.page_filter is not None:
            skip = PER_PAGE * (i % PAGES)
            if form == "find":
                await coll.find(case.page_filter).sort(case.sort).skip(skip).limit(PER_PAGE).to_list(PER_PAGE)
            else:
                pipeline: list[Doc] = [{"$match": case.page_filter}, {"$sort": dict(case.sort)}, {"$skip": skip}]
                await (await coll.aggregate([*pipeline, {"$limit": PER_PAGE}])).to_list(PER_PAGE)
        for flt in case.count_filters:
            await count(coll, flt)

    await one(0)
    return await timed(calls, one)


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def line(values: list[float]) -> str:
    """p50/p99 in milliseconds."""
    return f"p50 {1000 * statistics.median(values):6.1f} ms, p99 {1000 * pct(values, 0.99):6.1f} ms"


async def measure(url: str, mongo_url: str, db: str, gen: Generation, word: str, customer: str, calls: int) -> None:
    """Print each case's HTTP p50/p99, the bare driver's (both page forms) and the ratio of p50s."""
    client_db: AsyncMongoClient[Doc] = AsyncMongoClient(mongo_url)
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            for case in cases(gen, word, customer):
                coll = client_db[db][case.collection]
                http = await http_times(client, url, case, calls)
                bare_find = await bare_times(coll, case, max(1, calls // 4), "find")
                paged = case.page_filter is not None
                bare_agg = await bare_times(coll, case, max(1, calls // 4), "aggregate") if paged else bare_find
                best = min(statistics.median(bare_find), statistics.median(bare_agg))
                total = await count(coll, case.count_filters[0])
                print(
                    f"  {case.name} ({total} matching): HTTP {line(http)} (n={len(http)})"
                    f" | bare find+count {line(bare_find)}"
                    + f" (n={len(bare_find)})"
                    + (f", aggregate+count {line(bare_agg)}" if paged else "")
                    + f" | HTTP p50 = {statistics.median(http) / best:.1f}x the best bare",
                    flush=True,
                )
    finally:
        await client_db.close()


def run(url: str, mongo_url: str, db: str, gen: Generation, word: str, customer: str, calls: int) -> None:
    """Synchronous entry for ``bench/read.py``."""
    asyncio.run(measure(url, mongo_url, db, gen, word, customer, calls))
