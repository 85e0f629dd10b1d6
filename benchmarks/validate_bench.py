"""Wall time and peak memory of ``cgcloud validate`` (the whole process) on synthetic repositories.

    python benchmarks/validate_bench.py [--sizes 1000,10000,50000] [--repeat 3]

For each size, ``benchmarks/generate.py`` writes a valid repository under
``benchmarks/out/<rows>/`` (git-ignored); then ``python -m cgcloud validate`` runs as
a subprocess ``--repeat`` times. Wall time is measured around the subprocess; peak
RSS is the child's ``ru_maxrss`` (``os.wait4``). Prints a markdown table (median and
best wall time, peak RSS, exit code, summary line) for benchmarks/README.md.

Target (issue 2): 50,000 rows in under 1.5 s wall and under 300 MB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import NOW, generate  # noqa: E402

TARGET_ROWS, TARGET_WALL_S, TARGET_RSS_MB = 50_000, 1.5, 300


def run_once(repo: Path) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS MiB, exit code, last line of output) of one validate run."""
    cmd = [sys.executable, "-m", "cgcloud", "validate", str(repo), "--now", NOW]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=HERE.parent)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    lines = out.decode("utf-8", "replace").strip().splitlines()
    return wall, usage.ru_maxrss / 1024, proc.returncode, lines[-1] if lines else ""


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="1000,10000,50000", help="row counts, comma-separated")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=HERE / "out")
    a = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, --now {NOW}")
    print()
    print("| rows | files | wall median (s) | wall best (s) | peak RSS (MB) | exit | summary |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    verdict = 0
    for rows in (int(s) for s in a.sizes.split(",")):
        repo = a.out / str(rows)
        written = generate(repo, rows)
        run_once(repo)  # warm the page cache and the bytecode cache
        runs = [run_once(repo) for _ in range(a.repeat)]
        walls = [r[0] for r in runs]
        rss = max(r[1] for r in runs)
        code, summary = runs[-1][2], runs[-1][3]
        print(
            f"| {written['rows']:,} | {written['files']} | {statistics.median(walls):.2f} "
            f"| {min(walls):.2f} | {rss:.0f} | {code} | {summary} |"
        )
        if rows == TARGET_ROWS and (
            statistics.median(walls) > TARGET_WALL_S or rss > TARGET_RSS_MB
        ):
            verdict = 1
        if code != 0:
            verdict = 1
    print()
    print(
        f"target: {TARGET_ROWS:,} rows < {TARGET_WALL_S} s wall, < {TARGET_RSS_MB} MB — "
        + ("met" if verdict == 0 else "NOT met (or a run did not exit 0)")
    )
    return verdict


if __name__ == "__main__":
    raise SystemExit(main())
