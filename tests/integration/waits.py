"""Bounded waits on asynchronous work, sized for a loaded 2-core machine.

Why one helper and these bounds: a fixed sleep is too short on a loaded machine
(a flaky test is a broken CI gate) and wastes time on an idle one; a poll returns
as soon as the work is done and fails with what it last saw when it is not.

Measured here: a fake-driver server is ACTIVE ~2 s after create, SHUTOFF 0.6 s
after stop, gone ~1 s after delete, a 1 GB fake volume available in ~1 s
(shared notes, idle machine). With eight engineers' test runs on the same two
cores, a server delete took longer than 60 s (issue 11), so the cloud bound is
300 s: over 100 times the idle figure, and still a bound — a cloud that never
finishes fails the test with a message, it does not hang it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

CLOUD_ASYNC = 300.0  # Nova/Cinder state changes: build, stop, start, delete, attach
SERVICE_READY = 120.0  # a process a test started (exporter, Prometheus) answering / scraping
POLL = 0.5  # seconds between probes: cheap GETs on 127.0.0.1


def wait_until(
    what: str, probe: Callable[[], T], timeout: float = CLOUD_ASYNC, interval: float = POLL
) -> T:
    """Poll `probe` until it returns something truthy (returned) or `timeout` passes.

    On timeout the assertion names `what`, the bound and the last value seen.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f} s waiting for {what} (last seen: {last!r})"
            )
        time.sleep(interval)
