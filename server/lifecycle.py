"""Stopping within seconds: uvicorn told to stop training on the signal, and a bounded exit.

A signal must reach the training before uvicorn spends its graceful-shutdown time draining
connections, so the server subclass calls `on_signal` (RunExecution.leave: training stops and
attempts are handed back) as the signal arrives; the app's lifespan then waits a bounded time.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from types import FrameType

import uvicorn

log = logging.getLogger("mlproject")


class StoppingServer(uvicorn.Server):
    """uvicorn's server, calling `on_signal` first on SIGINT/SIGTERM."""

    def __init__(self, config: uvicorn.Config, on_signal: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_signal = on_signal

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_signal()  # sets a flag only: safe in a signal handler
        super().handle_exit(sig, frame)


def exit_within(seconds: float) -> None:
    """Training threads were told to stop; should one still be inside a long fit after
    `seconds`, leave without it (its attempt was handed back, or the sweeper retries it)."""
    deadline = time.monotonic() + seconds
    main = threading.main_thread()
    lingering = [t for t in threading.enumerate() if t is not main and not t.daemon]
    for thread in lingering:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in lingering):
        log.warning("shutdown.threads_still_running; exiting without them")
        logging.shutdown()
        os._exit(0)
