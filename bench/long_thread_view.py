"""The thread view of a 10,000-message thread: GET /v1/threads/{id} over HTTP, p50/p99, latest and older pages.

Starts its own stand-in servers (Tansu, nx-27017), seeds one thread straight into the read models (the thread
document and the message documents built by the projector's own functions from generated events, bulk-inserted),
then times the projection API (``serve --no-workers``) on it, beside the bare driver query of one page.

``bench/long_thread_view.py [--messages N] [--requests N] [--before REV]``: with ``--before``, the projections
service of that commit (``git archive``, e.g. the commit before the paging) is timed on the same data in the
same run, requests alternating with the current one's, so the ratio is measured under the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from pymongo import DESCENDING, AsyncMongoClient

from ordertalk_contracts import MessagePostedV1, ThreadEvent
from ordertalk_devstack.processes import ManagedProcess, free_port, python_argv
from ordertalk_projections.adapters.mongo_store import MongoReadModels
from ordertalk_projections.domain.documents import message_document, order_from_thread, thread_document
from ordertalk_projections.domain.generations import Generation
from ordertalk_projections.domain.projector import ThreadProjection, project

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.stand_ins import stand_ins
from tests.projections.harness import auth, service_env
from tests.projections.scripts import ADMIN, Positions, ThreadScript

ROOT = Path(__file__).resolve().parents[1]
BULK = 1000
DB = "bench_long_view"
WORDS = ("parcel", "invoice", "refund", "courier", "tracking", "address", "colour", "size", "delay", "thanks")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(values: list[float]) -> str:
    return f"p50 {1000 * statistics.median(values):.1f} ms, p99 {1000 * pct(values, 0.99):.1f} ms (n={len(values)})"


def load() -> str:
    """The machine's load average (the figures are taken on a shared machine)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


def long_thread(messages: int) -> tuple[ThreadScript, list[ThreadEvent]]:
    """The events of one thread: its start, ``messages`` messages by both sides, two disputes, reads."""
    script = ThreadScript.new(Positions())
    script.start()
    for n in range(1, messages + 1):
        words = " ".join(WORDS[(n + k) % len(WORDS)] for k in range(3))
        script.post(f"Message {n}: about the {words}.", ADMIN if n % 3 == 0 else None)
        if n == messages // 10:
            script.open_dispute("The parcel never came.")
        elif n == messages // 5:
            script.close_dispute()
        elif n == messages // 2:
            script.read("admin")
        elif n == messages - 20:
            script.open_dispute("The replacement is broken too.", ADMIN)
    return script, script.events


async def seed(mongo_url: str, messages: int) -> str:
    """Bulk-insert the thread's documents (threads, messages, orders) into generation 1; answers its order id."""
    script, events = long_thread(messages)
    projection: ThreadProjection | None = None
    for event in events:
        projection = project(projection, event)
    assert projection is not None
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        store = MongoReadModels(client, DB)
        gen = Generation(1)
        await store.ensure_indexes(gen)
        oid = script.order_id
        docs = [{"_id": str(e.message_id), **message_document(e)} for e in events if isinstance(e, MessagePostedV1)]
        for i in range(0, len(docs), BULK):
            await store.db[gen.messages].insert_many(docs[i : i + BULK], ordered=False)
        await store.db[gen.threads].insert_one({"_id": oid, **thread_document(projection)})
        await store.db[gen.orders].insert_one({"_id": oid, **order_from_thread(projection)})
        await store.record_progress(gen, "bench", projection.state.position)
    finally:
        await client.close()
    return oid


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def api(name: str, env: dict[str, str], var: Path, src: Path | None = None) -> tuple[ManagedProcess, str]:
    """``serve --no-workers`` of the current checkout, or of the projections sources in ``src``."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = python_argv("-m", "ordertalk_projections", "serve", "--host", "127.0.0.1", "--port", str(port))
    env = dict(env)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = ManagedProcess(name, [*argv, "--no-workers"], var / f"{name}.log", env)
    return proc.start(lambda: ready(url), 60), url


def sources_of(rev: str, var: Path) -> Path:
    """The projections service's sources at ``rev`` (``git archive``: the checkout is not touched)."""
    target = var / f"src-{rev.replace('/', '_').replace('^', '_parent')}"
    target.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "services/projections/src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target / "services" / "projections" / "src"


async def timed(client: httpx.AsyncClient, url: str, params: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    t = time.perf_counter()
    r = await client.get(url, params=params, headers=auth())
    elapsed = time.perf_counter() - t
    assert r.status_code == 200, r.text
    return elapsed, r.json()


async def measure(targets: dict[str, str], oid: str, requests: int) -> dict[str, list[float]]:
    """``requests`` sequential GETs per case; the cases alternate request by request (the same load for each).

    Beside the thread view: an older page, the same thread as a list row (``/row``: the thread document without
    messages, where the route exists) and the empty route (``/healthz``), the floors under the view.
    """
    view = f"/v1/threads/{oid}"
    cases: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, url in targets.items():
        cases[f"{name}: GET /v1/threads/{{id}}"] = (f"{url}{view}", {})
    paged = targets["paged"]
    cases["paged: an older page (before_seq=5000)"] = (f"{paged}{view}", {"before_seq": 5000})
    async with httpx.AsyncClient(timeout=60) as client:
        if (await client.get(f"{paged}{view}/row", headers=auth())).status_code == 200:
            cases["the thread as a list row: GET /v1/threads/{id}/row"] = (f"{paged}{view}/row", {})
        cases["the empty route: GET /healthz"] = (f"{paged}/healthz", {})
        out: dict[str, list[float]] = {name: [] for name in cases}
        for name, (url, params) in cases.items():  # one warm-up each; what each answers
            _, body = await timed(client, url, params)
            if "messages" in body:
                older = body.get("older", "-")
                print(f"  {name}: {len(body['messages'])} messages, older {older}, {len(body['disputes'])} disputes")
        for _ in range(requests):
            for name, (url, params) in cases.items():
                elapsed, _ = await timed(client, url, params)
                out[name].append(elapsed)
    return out


async def bare_page(mongo_url: str, oid: str, requests: int) -> list[float]:
    """The driver query of the latest page alone (the floor under the route)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    coll = client[DB][Generation(1).messages]
    times = []
    for _ in range(requests):
        t = time.perf_counter()
        await coll.find({"order_id": {"$eq": oid}}).sort("seq", DESCENDING).limit(51).to_list(51)
        times.append(time.perf_counter() - t)
    await client.close()
    return times


def main() -> None:
    """Seed the long thread, start the API (and the one of ``--before``), print the figures."""
    parser = argparse.ArgumentParser(prog="bench/long_thread_view.py")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--before", help="a git revision whose projections service is timed beside this one")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers we started on a timeout too
    with stand_ins("bench-long-view-") as servers:
        var, kafka, mongo_url, procs = servers.var, servers.kafka, servers.mongo_url, servers.procs
        print(load())
        t = time.perf_counter()
        oid = asyncio.run(seed(mongo_url, args.messages))
        print(f"seeded one thread of {args.messages} messages in {time.perf_counter() - t:.1f} s")
        env = service_env(kafka, mongo_url, DB, f"bench-long-view-{uuid.uuid4().hex[:6]}")
        proc, url = api("projections-api", env, var)
        procs.append(proc)
        targets = {"paged": url}
        if args.before:
            old, old_url = api("projections-api-before", env, var, sources_of(args.before, var))
            procs.append(old)
            targets[f"before ({args.before})"] = old_url
        print(f"thread view of a {args.messages}-message thread, {args.requests} sequential requests per case:")
        results = asyncio.run(measure(targets, oid, args.requests))
        results["driver: the latest page's query alone"] = asyncio.run(bare_page(mongo_url, oid, args.requests))
        paged = statistics.median(results["paged: GET /v1/threads/{id}"])
        for name, times in results.items():
            print(f"  {name}: {ms(times)}; p50 = {statistics.median(times) / paged:.2f}x the paged view", flush=True)
        print(f"  goal p99 <= 50 ms -> p99 is {1000 * pct(results['paged: GET /v1/threads/{id}'], 0.99) / 50:.2f}x")
        print(f"  {load()}")


if __name__ == "__main__":
    main()
