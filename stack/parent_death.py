"""`python -m stack.parent_death PARENT_PID COMMAND...`: run COMMAND so that it dies with its parent.

PR_SET_PDEATHSIG makes the kernel SIGKILL the command as soon as its parent ends, even when the parent
is killed with SIGKILL and has no chance to clean up, so a supervisor never leaves orphans behind. It
is set here, in a tiny exec wrapper, because a `preexec_fn` is unsafe in a threaded parent; exec keeps
both the death signal and the pid. The kernel ties the signal to the parent *thread* that started the
child: that thread must outlive it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Sequence

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def wrap(argv: Sequence[str]) -> list[str]:
    """The command line that runs `argv` tied to this process."""
    return [sys.executable, "-m", "stack.parent_death", str(os.getpid()), *argv]


def main(args: list[str]) -> None:
    parent, argv = int(args[0]), args[1:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        sys.exit(f"parent {parent} ended before {argv[0]} started")  # no one is left to signal us
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
