"""``cgcloud validate`` on one pathological line: a flow mapping of N unknown keys.

    python benchmarks/flow_bench.py [--keys 25000,50000,100000,200000,400000] [--repeat 3]

Each file is one line ``{apiVersion: cgcloud/v1, kind: Zones, zones: [], 键0: 0, …}``
(every key a CG011 "unknown key" finding, three-byte characters so that columns are
not byte offsets). Before issue 11 each finding cost a scan of the line and of the
mapping (quadratic: 5,000 keys 21 s, 10,000 keys 99 s); now only the findings shown
are located (capping.py) and a column is counted from a checkpoint of the line.
Prints a markdown table: CPU seconds of the child (user + sys, steadier than wall
time on a shared machine), wall seconds, CPU microseconds per key, output lines.
Linear growth shows as a flat µs/key column.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def flow_file(path: Path, keys: int) -> int:
    body = ", ".join(f"键{i}: {i}" for i in range(keys))
    data = ("{apiVersion: cgcloud/v1, kind: Zones, zones: [], " + body + "}\n").encode()
    path.write_bytes(data)
    return len(data)


def run_once(path: Path) -> tuple[float, float, int, int]:
    """(CPU seconds, wall seconds, exit code, output lines) of one validate run."""
    cmd = [sys.executable, "-m", "cgcloud", "validate", str(path), "--now", "2026-12-10"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=HERE.parent)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return (
        usage.ru_utime + usage.ru_stime,
        wall,
        os.waitstatus_to_exitcode(status),
        out.count(b"\n"),
    )


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--keys", default="25000,50000,100000,200000,400000")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print()
    print("| keys | file (MB) | CPU best (s) | wall median (s) | CPU µs/key | output lines |")
    print("|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="cgcloud-flow-") as tmp:
        for keys in (int(k) for k in a.keys.split(",")):
            path = Path(tmp) / f"flow-{keys}.yaml"
            size = flow_file(path, keys)
            runs = [run_once(path) for _ in range(a.repeat)]
            cpu = min(r[0] for r in runs)
            wall = statistics.median(r[1] for r in runs)
            print(
                f"| {keys:,} | {size / 1e6:.1f} | {cpu:.2f} | {wall:.2f} | "
                f"{cpu / keys * 1e6:.1f} | {runs[0][3]} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
