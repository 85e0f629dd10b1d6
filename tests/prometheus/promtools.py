"""Find or install Debian's `prometheus` package (promtool + the server) for the tests.

CI starts from a machine with nothing installed by hand, so the suite installs
what it needs itself: `apt-get update` once, then
`apt-get install -y --no-install-recommends prometheus`. The package's service
does not start by itself in these sandboxes; the end-to-end test starts the
binary on 127.0.0.1.

Where that cannot be done (not root, no apt-get, Debian's archive out of reach)
`Unavailable` says why, and the fixtures in tests/conftest.py turn it into a skip
with that reason (marker `needs_apt`), not an error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import NoReturn

import pytest

APT_LOCK_WAIT = ["-o", "DPkg::Lock::Timeout=600"]


class Unavailable(RuntimeError):
    """A prerequisite this machine lacks; the message is the skip reason."""


def unavailable(reason: str) -> NoReturn:
    """Skip with the reason, or fail when CGCLOUD_REQUIRE_ALL=1 (a machine, such as CI,
    that is supposed to have everything must not pass by skipping)."""
    if os.environ.get("CGCLOUD_REQUIRE_ALL") == "1":
        pytest.fail(f"CGCLOUD_REQUIRE_ALL=1 but: {reason}", pytrace=False)
    pytest.skip(reason)


def ensure_debian(package: str, binaries: tuple[str, ...]) -> tuple[str, ...]:
    """Paths of `binaries`, installing Debian's `package` when one is missing."""
    found = tuple(shutil.which(b) or "" for b in binaries)
    if all(found):
        return found
    missing = ", ".join(b for b, f in zip(binaries, found, strict=True) if not f)
    if os.geteuid() != 0:
        raise Unavailable(
            f"{missing} not on PATH and not root: cannot apt-get install "
            f"{package} (install it, or run the tests as root)"
        )
    if not shutil.which("apt-get"):
        raise Unavailable(f"{missing} not on PATH and no apt-get to install {package}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["update", "-qq"], ["install", "-y", "-qq", "--no-install-recommends", package]):
        try:
            subprocess.run(
                ["apt-get", *APT_LOCK_WAIT, *step],
                check=True,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
        except subprocess.CalledProcessError as exc:
            tail = " ".join((exc.stderr or exc.stdout or "").split())[-300:]
            raise Unavailable(
                f"apt-get {step[0]} {package} failed (exit {exc.returncode}; "
                f"no network to Debian's archive?): {tail}"
            ) from None
        except subprocess.TimeoutExpired:
            raise Unavailable(f"apt-get {step[0]} {package} did not finish in 900 s") from None
    found = tuple(shutil.which(b) or "" for b in binaries)
    if not all(found):
        raise RuntimeError(f"apt-get installed {package} but {binaries} are not all on PATH")
    return found


def ensure_prometheus() -> tuple[str, str]:
    """(promtool, prometheus) paths; installs the Debian package when missing."""
    promtool, server = ensure_debian("prometheus", ("promtool", "prometheus"))
    return promtool, server
