"""Child processes that do not outlive their parent (Linux PR_SET_PDEATHSIG)."""

from __future__ import annotations

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int, sig: signal.Signals = signal.SIGTERM) -> None:
    """Asks the kernel for `sig` when the parent dies; sends it now when the
    parent `parent` already died. Elsewhere than Linux, nothing (the parent's
    own signal handling still reaches the child)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before prctl
        os.kill(os.getpid(), sig)
