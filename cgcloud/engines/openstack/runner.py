"""How the OpenStack engine runs the steps of a plan: concurrently with a bound, or one
by one; each step's outcome noted and audited; nothing new started after a failure."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from cgcloud.engines.audit import AuditLog
from cgcloud.engines.base import EngineError, Progress, Step
from cgcloud.engines.openstack.api import Api


@dataclass(slots=True)
class Runner:
    """The connection, the audit log and the bounds one apply runs with."""

    api: Api
    audit: AuditLog
    concurrency: int
    bulk_size: int

    def map(
        self,
        fn: Callable[[Step], None],
        steps: list[Step],
        progress: Progress | None,
        phase: str,
        stop: threading.Event,
    ) -> None:
        """Run steps with bounded concurrency; after a hard failure start nothing new."""
        if not steps:
            return
        done = 0
        lock = threading.Lock()

        def run(step: Step) -> None:
            nonlocal done
            if not self.run_step(fn, step, stop):
                return
            with lock:
                done += 1
                if progress:
                    progress(phase, done, len(steps))

        with ThreadPoolExecutor(self.concurrency) as pool:
            list(pool.map(run, steps))

    def one_by_one(
        self, fn: Callable[[Step], None], steps: list[Step], stop: threading.Event | None
    ) -> None:
        """Keystone tag writes, one at a time: a Keystone on SQLite answers concurrent
        ones with 500 "database is locked" (measured on the devcloud). With ``stop``, a
        failure stops what follows (and sets it); without, each step stands alone."""
        for s in steps:
            if not self.run_step(fn, s, stop):
                return

    def run_step(
        self, fn: Callable[[Step], None], step: Step, stop: threading.Event | None
    ) -> bool:
        """Run one step, note its outcome, audit it; False when ``stop`` kept it from
        starting. A failure sets ``stop``: nothing new starts after it."""
        if stop is not None and stop.is_set():
            return False
        try:
            fn(step)
            step.status = "done"
        except EngineError as exc:
            step.status, step.error = "failed", str(exc)
            if stop is not None:
                stop.set()
        self.audit.write(step)
        return True
