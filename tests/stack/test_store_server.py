"""The store as the stack serves it (stack/store_server.py): nx-27017 answering many clients at once
from one thread, quietly, without scans it does not need, and stopping on SIGTERM."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import neosqlite
import pytest
from neosqlite.collection.aggregation_cursor import AggregationCursor
from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError

from stack.processes import Part, store_part
from stack.store_server import skip_unused_size_estimates

CLIENTS = 6
COMMANDS_EACH = 40


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Part]:
    part = store_part(tmp_path).start()
    yield part
    part.stop()


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))  # the event loop's own included (libuv starts 4 idle)


def test_concurrent_clients_get_their_own_answers_from_a_store_of_one_thread(store: Part) -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(store.url, maxPoolSize=CLIENTS)
    notes = client["store_test"]["notes"]
    assert client.admin.command("ping")["ok"] == 1
    threads_before = _threads(store.pid)
    failures: list[BaseException] = []

    def write_and_read(who: int) -> None:
        try:
            for n in range(COMMANDS_EACH // 2):
                notes.insert_one({"_id": f"{who}-{n}", "who": who, "n": n})
                assert notes.find_one({"_id": f"{who}-{n}"}) == {"_id": f"{who}-{n}", "who": who, "n": n}
        except BaseException as exc:  # reported below: an assertion in a thread would be lost
            failures.append(exc)

    workers = [threading.Thread(target=write_and_read, args=(who,)) for who in range(CLIENTS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not failures, failures
    totals = list(notes.aggregate([{"$group": {"_id": "$who", "count": {"$sum": 1}}}]))
    per_client = sorted((row["_id"], row["count"]) for row in totals)
    assert per_client == [(who, COMMANDS_EACH // 2) for who in range(CLIENTS)]
    # nx-27017 on its own hands each command to a worker thread (a pool that grows with the clients), a
    # cross-core wake-up per command for no concurrency: one database's commands run one at a time.
    assert _threads(store.pid) == threads_before
    client.close()


def test_a_failing_command_fails_for_its_client_and_the_store_serves_on(store: Part) -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(store.url)
    notes = client["store_test"]["notes"]
    notes.insert_one({"_id": "once"})
    with pytest.raises(DuplicateKeyError):
        notes.insert_one({"_id": "once"})
    assert notes.count_documents({}) == 1
    assert client.admin.command("ping")["ok"] == 1
    client.close()


def test_the_store_logs_nothing_per_command_and_stops_on_sigterm(store: Part) -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(store.url)
    client.admin.command("ping")
    log_before = store.log_path.read_text(errors="replace")
    for _ in range(100):  # nx-27017 on its own logs two INFO lines for each: a readiness probe's command
        client.admin.command("ping")
    notes = client["store_test"]["notes"]
    notes.insert_many([{"n": n} for n in range(50)])
    assert notes.find_one({"n": 49}) is not None
    client.close()
    assert store.log_path.read_text(errors="replace") == log_before
    store.stop()
    assert store.process is not None and store.process.returncode == 0
    assert "Traceback" not in store.log_path.read_text(errors="replace")


def test_an_aggregation_answers_the_same_without_first_counting_the_whole_collection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # In this process, on neosqlite itself: the statements SQLite runs are what the change is about.
    monkeypatch.setattr(AggregationCursor, "_estimate_result_size", AggregationCursor._estimate_result_size)
    connection = neosqlite.Connection(":memory:")
    notes = connection["notes"]
    notes.insert_many([{"who": n % 3, "amount": n} for n in range(30)])
    pipeline = [{"$match": {"who": 1}}, {"$group": {"_id": "$who", "total": {"$sum": "$amount"}}}]
    statements: list[str] = []
    connection.db.set_trace_callback(statements.append)

    def aggregate() -> tuple[list[dict[str, Any]], list[str]]:
        statements.clear()
        return list(notes.aggregate(pipeline)), [s for s in statements if "COUNT(1)" in s.upper()]

    answer_before, counts_before = aggregate()
    skip_unused_size_estimates()
    answer_after, counts_after = aggregate()
    assert counts_before, "neosqlite no longer counts before aggregating: drop skip_unused_size_estimates"
    assert counts_after == []
    assert answer_after == answer_before == [{"_id": 1, "total": sum(range(1, 30, 3))}]
    connection.close()
