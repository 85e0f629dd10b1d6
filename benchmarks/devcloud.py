"""Benchmark `cgcloud devcloud` (run by hand; prints figures for benchmarks/README.md).

    python benchmarks/devcloud.py [--profile full] [--dir /var/tmp/cgcloud-devcloud-bench]

1. install from nothing: deletes <dir> (venv included) and runs `up` with the
   pip cache disabled (PIP_NO_CACHE_DIR=1); reports install and start seconds.
2. memory of the running stack: sum of PSS (and RSS) over every process tree,
   plus the drop of MemAvailable.
3. round trips: median of 20 cheap API calls each (token reused).
4. start with packages present: `down`, then `up` again (venv reused).
Then `down --purge`. Needs the devcloud ports free (no other devcloud running).
Debian packages (rabbitmq-server, postgresql-15) are installed by the first
`up` if missing; that time is part of "install" then.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def mem_available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def rtt(name: str, fn: Callable[[], Any], n: int = 20) -> None:
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1000)
    print(f"  {name:28s} median {statistics.median(ts):6.1f} ms   max {max(ts):6.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="full", choices=["minimal", "full"])
    ap.add_argument("--dir", default="/var/tmp/cgcloud-devcloud-bench", type=Path)
    ap.add_argument(
        "--keep-cache",
        action="store_true",
        help="allow pip's wheel cache for the install (default: disabled)",
    )
    args = ap.parse_args()

    from cgcloud.devcloud import launcher
    from cgcloud.devcloud.config import CLOUD_NAME

    zones = Path(__file__).resolve().parents[1] / "policies" / "zones.yaml"
    if not zones.is_file():
        zones = Path(__file__).resolve().parents[1] / "tests/integration/data/zones.yaml"
    quiet = lambda m: None  # noqa: E731

    if args.dir.exists():
        launcher.down(purge=True, dir=args.dir, progress=quiet)
        shutil.rmtree(args.dir)
    if not args.keep_cache:
        os.environ["PIP_NO_CACHE_DIR"] = "1"
    free0 = mem_available()
    r1 = launcher.up(args.profile, args.dir, progress=print, zones=zones)  # type: ignore[arg-type]
    os.environ.pop("PIP_NO_CACHE_DIR", None)
    time.sleep(10)  # let workers settle before measuring memory
    rows = launcher.status(args.dir)
    rss = sum(r.rss_bytes for r in rows)
    pss = sum(r.pss_bytes for r in rows)
    free1 = mem_available()
    venv_mb = (
        sum(
            f.stat().st_size
            for f in (args.dir / "venv").rglob("*")
            if f.is_file() and not f.is_symlink()
        )
        / 2**20
    )

    conn = launcher.connect(args.dir)
    conn.authorize()
    print("round trips (N=20):")
    rtt("keystone: issue token", lambda: launcher.connect(args.dir).authorize())
    rtt("neutron: list networks", lambda: list(conn.network.networks()))
    rtt("neutron: get quota", lambda: conn.network.get_quota(conn.current_project_id))
    if args.profile == "full":
        rtt("nova: get quota-set", lambda: conn.compute.get_quota_set(conn.current_project_id))
        rtt("cinder: list volumes", lambda: list(conn.block_storage.volumes()))

    launcher.down(dir=args.dir, progress=quiet)
    r2 = launcher.up(args.profile, args.dir, progress=quiet, zones=zones)  # type: ignore[arg-type]
    r3 = launcher.up(args.profile, args.dir, progress=quiet, zones=zones)  # type: ignore[arg-type]
    t = time.monotonic()
    launcher.down(purge=True, dir=args.dir, progress=quiet)
    t_down = time.monotonic() - t

    print(f"\n=== devcloud benchmark ({args.profile}, cloud {CLOUD_NAME}, {os.cpu_count()} cores)")
    print(
        f"install from nothing (apt if missing + venv + pip): {r1.install_seconds:6.1f} s"
        f"  (venv {venv_mb:.0f} MB)"
    )
    print(
        f"start, first run (incl. site layout):               "
        f"{r1.seconds - r1.install_seconds:6.1f} s"
    )
    print(f"start with packages present (incl. site layout):    {r2.seconds:6.1f} s")
    print(
        f"`up` when already up:                               {r3.seconds:6.1f} s"
        f"  (already_up={r3.already_up})"
    )
    print(f"down --purge:                                       {t_down:6.1f} s")
    print(
        f"memory: PSS {pss / 2**30:.2f} GiB, RSS sum {rss / 2**30:.2f} GiB, "
        f"MemAvailable drop {(free0 - free1) / 2**30:.2f} GiB"
    )


if __name__ == "__main__":
    main()
