"""Time `cgcloud diff BASE HEAD` on a large repository in a real git repository.

    python benchmarks/diff_bench.py [--rows 50000] [--repeat 3]

Generates the repository (benchmarks/generate.py) into a temporary git repository,
commits it, then on a branch reverses the row order of every 10th NetworkPolicy (no
semantic change) and widens the port of the first row of every 5th one
(``port: TCPn`` → ``port: "TCPn,TCP65000"``), commits, and runs the diff as a whole
process (git archive of both revisions, two loads, the diff, text output).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import generate  # noqa: E402

ENV = dict(
    os.environ,
    PYTHONPATH=str(ROOT),
    GIT_AUTHOR_NAME="bench",
    GIT_AUTHOR_EMAIL="b@example.invalid",
    GIT_COMMITTER_NAME="bench",
    GIT_COMMITTER_EMAIL="b@example.invalid",
)
ROW = re.compile(r"^    - \{from:.*$", re.MULTILINE)
PORT = re.compile(r"port: (TCP\d+)([,}])")


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=ENV, check=True, capture_output=True)


def _reverse_rows(text: str) -> str:
    backwards = iter(reversed(ROW.findall(text)))
    return ROW.sub(lambda _m: next(backwards), text)


def change(repo: Path) -> int:
    widened = 0
    policies = sorted(repo.glob("policies/*/network-policy.yaml"))
    for i, p in enumerate(policies):
        text = p.read_text(encoding="utf-8")
        if i % 10 == 0:
            text = _reverse_rows(text)
        if i % 5 == 0:
            text, n = PORT.subn(r'port: "\1,TCP65000"\2', text, count=1)
            widened += n
        p.write_text(text, encoding="utf-8")
    return widened


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="cgcloud-diff-bench-") as tmp:
        repo = Path(tmp)
        git(repo, "init", "-q", "-b", "main")
        generate(repo / "policies", args.rows)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "base")
        git(repo, "checkout", "-q", "-b", "change")
        widened = change(repo)
        git(repo, "commit", "-q", "-am", "change")
        times, cpus = [], []
        out = ""
        code = -1
        for _ in range(args.repeat + 1):  # one warm-up
            t = time.perf_counter()
            with open(repo / "diff.out", "w", encoding="utf-8") as sink:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "cgcloud", "diff", "main", "HEAD", "policies"],
                    cwd=repo,
                    env=ENV,
                    stdout=sink,
                    stderr=subprocess.DEVNULL,
                )
                _pid, status, usage = os.wait4(proc.pid, 0)
            times.append(time.perf_counter() - t)
            cpus.append(usage.ru_utime + usage.ru_stime)
            code = os.waitstatus_to_exitcode(status)
            out = (repo / "diff.out").read_text(encoding="utf-8")
        print(f"rows={args.rows} widened rows={widened} exit={code} load={os.getloadavg()[0]:.1f}")
        print("summary: " + out.splitlines()[0])
        print(
            "wall (s): " + ", ".join(f"{t:.2f}" for t in times[1:]) + f"  (warm-up {times[0]:.2f})"
        )
        print("cpu user+sys (s): " + ", ".join(f"{c:.2f}" for c in cpus[1:]))


if __name__ == "__main__":
    main()
