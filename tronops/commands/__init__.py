"""One module per command group. Each has `register(commands)`, which adds its subcommands and sets
`func` (Namespace -> exit code) on each. Modules import only argparse at the top: what a command
needs is imported inside it, so `tronops --help` answers at once and a command loads only its own.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

# What `ArgumentParser.add_subparsers` returns: the list that `register` adds commands to.
Commands = argparse._SubParsersAction  # type: ignore[type-arg]
Handler = Callable[[argparse.Namespace], int]
