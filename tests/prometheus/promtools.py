"""Find or install Debian's `prometheus` package (promtool + the server) for the tests.

CI starts from a machine with nothing installed by hand, so the suite installs
what it needs itself: `apt-get update` once, then
`apt-get install -y --no-install-recommends prometheus`. The package's service
does not start by itself in these sandboxes; the end-to-end test starts the
binary on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import subprocess

APT_LOCK_WAIT = ["-o", "DPkg::Lock::Timeout=600"]


def ensure_prometheus() -> tuple[str, str]:
    """(promtool, prometheus) paths; installs the Debian package when missing."""
    promtool, server = shutil.which("promtool"), shutil.which("prometheus")
    if promtool and server:
        return promtool, server
    if os.geteuid() != 0:
        raise RuntimeError("promtool/prometheus missing and not root: "
                           "apt-get install -y --no-install-recommends prometheus")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", *APT_LOCK_WAIT, "update", "-qq"], check=True, env=env,
                   capture_output=True, timeout=600)
    subprocess.run(["apt-get", *APT_LOCK_WAIT, "install", "-y", "-qq",
                    "--no-install-recommends", "prometheus"],
                   check=True, env=env, capture_output=True, timeout=900)
    promtool, server = shutil.which("promtool"), shutil.which("prometheus")
    if not (promtool and server):
        raise RuntimeError("apt-get installed prometheus but promtool/prometheus are not on PATH")
    return promtool, server
