"""Install what the devcloud needs: its own venv (PyPI) and Debian packages.

Why a private venv: the OpenStack services pin hundreds of packages
(SQLAlchemy, eventlet, oslo.*) that must not leak into the user's environment.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from cgcloud.devcloud.config import PG_BIN, PIP_PACKAGES, RABBIT_SERVER, Layout, Profile
from cgcloud.devcloud.procs import DevcloudError, run

HERE = Path(__file__).resolve().parent
CONSTRAINTS = HERE / "constraints.txt"
ML2_PACKAGE = HERE / "ml2_bindall"

Say = Callable[[str], None]


def _stamp(profile: Profile) -> str:
    """What a venv was built from: the packages and the constraints file."""
    h = hashlib.sha256(CONSTRAINTS.read_bytes())
    h.update(" ".join(PIP_PACKAGES[profile]).encode())
    for f in sorted(ML2_PACKAGE.rglob("*")):
        if f.is_file() and "__pycache__" not in f.parts and ".egg-info" not in str(f):
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def venv_ready(layout: Layout, profile: Profile) -> bool:
    """True if the venv already holds the packages of `profile` (or of a superset)."""
    for p in ("full", profile):
        stamp = layout.venv / f".cgcloud-{p}"
        if stamp.is_file() and stamp.read_text().strip() == _stamp(p):  # type: ignore[arg-type]
            return True
    return False


def ensure_venv(layout: Layout, profile: Profile, say: Say) -> bool:
    """Create/upgrade the devcloud venv; returns True if anything was installed."""
    if venv_ready(layout, profile):
        return False
    log = layout.log / "install.log"
    py = layout.bin("python")
    if not py.exists():
        say(f"creating venv {layout.venv}")
        run([sys.executable, "-m", "venv", str(layout.venv)], "venv", log)
        run([str(py), "-m", "pip", "install", "-q", "-U", "pip", "setuptools", "wheel"], "pip", log)
    pkgs = PIP_PACKAGES[profile]
    say(f"pip install {' '.join(pkgs)} (pinned by constraints.txt)")
    env = dict(os.environ)
    env.pop("PIP_REQUIRE_VIRTUALENV", None)
    run(
        [str(py), "-m", "pip", "install", "-q", "-c", str(CONSTRAINTS), *pkgs],
        "pip",
        log,
        env=env,
        timeout=1800,
    )
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    build = layout.root / "build" / "ml2_bindall"
    shutil.rmtree(build, ignore_errors=True)
    shutil.copytree(
        ML2_PACKAGE, build, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    run(
        [str(py), "-m", "pip", "install", "-q", "--no-build-isolation", str(build)],
        "pip",
        log,
        env=env,
    )
    (layout.venv / f".cgcloud-{profile}").write_text(_stamp(profile) + "\n")
    say(f"venv ready ({_du(layout.venv) // 2**20} MB)")
    return True


def _du(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, f)).st_size
    return total


def ensure_apt(layout: Layout, profile: Profile, say: Say) -> bool:
    """apt-get install rabbitmq-server / postgresql-15 when `full` needs them."""
    if profile != "full":
        return False
    missing = []
    if not RABBIT_SERVER.exists():
        missing.append("rabbitmq-server")
    if not (PG_BIN / "postgres").exists():
        missing.append("postgresql-15")
    if not missing:
        return False
    if os.geteuid() != 0:
        raise DevcloudError(
            "apt",
            f"missing Debian packages: {' '.join(missing)}; "
            f"run `sudo apt-get install {' '.join(missing)}` and retry",
        )
    if not shutil.which("apt-get"):
        raise DevcloudError("apt", f"missing {' '.join(missing)} and no apt-get to install them")
    log = layout.log / "install.log"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    say(f"apt-get install {' '.join(missing)}")
    run(["apt-get", "update", "-qq"], "apt", log, env=env, timeout=900)
    run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
        "apt",
        log,
        env=env,
        timeout=1800,
    )
    # Debian starts the system-wide services on install; the devcloud runs its
    # own private instances on other ports, so stop the system ones (only if we
    # just installed them: never touch a service the user had before).
    for name in missing:
        unit = "rabbitmq-server" if name == "rabbitmq-server" else "postgresql"
        if shutil.which("systemctl") and Path("/run/systemd/system").exists():
            run(["systemctl", "stop", unit], "apt", log, env=env)
        elif shutil.which("service"):
            with contextlib.suppress(DevcloudError):
                run(["service", unit, "stop"], "apt", log, env=env)
    if "rabbitmq-server" in missing and shutil.which("epmd"):
        # The erlang package also starts a system epmd on 0.0.0.0:4369; the devcloud
        # uses its own on 127.0.0.1:34369, so stop the one our install started.
        with contextlib.suppress(DevcloudError):
            run(
                ["epmd", "-kill"],
                "apt",
                log,
                env={k: v for k, v in env.items() if not k.startswith("ERL_EPMD")},
            )
    return True
