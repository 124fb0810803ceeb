"""service.serving.TurnCoalescedWrites on a real loopback connection and uvloop (the replicas' loop,
whose transports write with write/writev: counted in the thread's /proc io file as `syscw`; the
thread's own, so other threads of the test process do not count)."""

from __future__ import annotations

import asyncio

import uvloop

from service.serving import TurnCoalescedWrites
from tests.support.proc_io import write_calls


async def _exercise(large: bytes) -> tuple[list[int], bytes]:
    """Writes through TurnCoalescedWrites; the write calls made after each step, and what arrived."""
    received = bytearray()
    ended = asyncio.Event()

    async def receive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(1 << 20):
            received.extend(chunk)
        ended.set()
        writer.close()

    server = await asyncio.start_server(receive, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await asyncio.get_running_loop().create_connection(asyncio.Protocol, "127.0.0.1", port)
    writes = TurnCoalescedWrites(transport)  # type: ignore[arg-type]
    start = write_calls()
    writes.write(b"head ")
    writes.write(b"body ")
    kept = write_calls() - start
    await asyncio.sleep(0)  # the turn ends
    one_turn = write_calls() - start
    writes.write(large)
    large_at_once = write_calls() - start
    writes.write(b" tail")
    writes.close()
    await asyncio.wait_for(ended.wait(), 5)  # the receiver saw the end of the stream
    server.close()
    await server.wait_closed()
    return [kept, one_turn, large_at_once], bytes(received)


def test_a_turns_writes_leave_in_one_call_a_large_one_at_once_and_close_sends_the_rest() -> None:
    large = b"x" * TurnCoalescedWrites.KEEP_AT_MOST
    (kept, one_turn, large_at_once), received = uvloop.run(_exercise(large))
    assert kept == 0, "held until the turn ends"
    assert one_turn == 1, f"{one_turn} write calls for the two writes of one turn"
    assert large_at_once >= 2, "a write past KEEP_AT_MOST leaves at once, not at the end of the turn"
    assert received == b"head body " + large + b" tail", "everything arrives, in order, before the close"
