"""Calls in one event-loop turn share one round trip, each gets its own answer, and none sees a batch
that left before it asked."""

from __future__ import annotations

import asyncio

import pytest

from service.ports.batching import TurnBatch


class Recorder:
    """A round trip that records the keys of each call and answers key * 10."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.sent: list[list[int]] = []
        self.fail = fail

    async def send(self, keys: list[int]) -> list[int]:
        self.sent.append(list(keys))
        await asyncio.sleep(0)  # a real round trip yields
        if self.fail is not None:
            raise self.fail
        return [key * 10 for key in keys]


def test_calls_in_one_turn_share_one_round_trip_and_each_gets_its_answer() -> None:
    async def scenario() -> tuple[list[int], Recorder]:
        recorder = Recorder()
        batch = TurnBatch(recorder.send)
        answers = await asyncio.gather(*(batch(key) for key in (1, 2, 2, 3)))
        return answers, recorder

    answers, recorder = asyncio.run(scenario())
    assert answers == [10, 20, 20, 30]
    assert recorder.sent == [[1, 2, 2, 3]], "one round trip, repeats kept (a count counts each call)"


def test_a_call_made_after_a_batch_left_waits_for_the_next_one() -> None:
    async def scenario() -> Recorder:
        recorder = Recorder()
        batch = TurnBatch(recorder.send)
        first = asyncio.ensure_future(batch(1))
        await asyncio.sleep(0)  # the turn ends: the first batch leaves
        await asyncio.sleep(0)
        second = await batch(2)
        assert (await first, second) == (10, 20)
        return recorder

    assert asyncio.run(scenario()).sent == [[1], [2]]


def test_a_failed_round_trip_fails_every_caller_of_its_batch() -> None:
    async def scenario() -> list[BaseException | int]:
        batch = TurnBatch(Recorder(fail=ConnectionError("store away")).send)
        return await asyncio.gather(batch(1), batch(2), return_exceptions=True)

    results = asyncio.run(scenario())
    assert [type(r) for r in results] == [ConnectionError, ConnectionError]


def test_a_caller_that_gave_up_does_not_break_the_others() -> None:
    async def scenario() -> int:
        batch = TurnBatch(Recorder().send)
        quitter = asyncio.ensure_future(batch(1))
        stayer = asyncio.ensure_future(batch(2))
        await asyncio.sleep(0)
        quitter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await quitter
        return await stayer

    assert asyncio.run(scenario()) == 20


class Gate(Recorder):
    """A round trip that stays out until the test opens it, as a busy store's does."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = asyncio.Event()

    async def send(self, keys: list[int]) -> list[int]:
        answers = await super().send(keys)
        if len(self.sent) == 1:
            await self.opened.wait()
        return answers


def test_calls_made_while_a_batch_is_out_gather_and_leave_as_one_when_it_returns() -> None:
    async def scenario() -> tuple[list[int], Gate]:
        gate = Gate()
        batch = TurnBatch(gate.send)
        first = asyncio.ensure_future(batch(1))
        while not gate.sent:  # the first batch is out
            await asyncio.sleep(0)
        later = []
        for key in (2, 3, 4):  # each in a turn of its own
            later.append(asyncio.ensure_future(batch(key)))
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        assert gate.sent == [[1]], "nothing leaves while a batch is out"
        gate.opened.set()
        return [await first, *await asyncio.gather(*later)], gate

    answers, gate = asyncio.run(scenario())
    assert answers == [10, 20, 30, 40]
    assert gate.sent == [[1], [2, 3, 4]], "the calls gathered while it was out leave as one batch"


def test_callers_gathered_behind_a_cancelled_batch_are_cancelled_not_left_waiting() -> None:
    async def scenario() -> BaseException | int:
        gate = Gate()
        batch = TurnBatch(gate.send)
        first = asyncio.ensure_future(batch(1))
        while not gate.sent:
            await asyncio.sleep(0)
        gathered = asyncio.ensure_future(batch(2))
        await asyncio.sleep(0)
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task() and task is not gathered:
                task.cancel()  # what a stopping replica does to its tasks
        try:
            return await asyncio.wait_for(gathered, timeout=1)
        except asyncio.CancelledError as exc:
            assert first.cancelled()
            return exc

    assert isinstance(asyncio.run(scenario()), asyncio.CancelledError)
