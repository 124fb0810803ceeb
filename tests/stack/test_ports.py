"""The ports the stack listens on: free when picked, never one an outgoing connection can take first."""

from __future__ import annotations

from stack.processes import ephemeral_low, free_port, port_free


def test_free_ports_are_below_the_ephemeral_range_free_and_never_handed_out_twice() -> None:
    """Below the range the kernel takes outgoing connections' local ports from, so a port stays free
    between the stack picking it and its part listening (bind(0) ports are inside it)."""
    ports = [free_port() for _ in range(200)]

    assert len(set(ports)) == len(ports)
    assert all(port < ephemeral_low() for port in ports)
    assert all(port_free(port) for port in ports)
