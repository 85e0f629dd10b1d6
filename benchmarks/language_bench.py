"""What speaking two languages costs: `cgcloud validate` and start-up, in zh and en,
against a base checkout (e.g. the commit before the catalogs sweep).

    git worktree add /tmp/base-lang 9efa458
    python benchmarks/language_bench.py --base /tmp/base-lang [--rows 50000] [--repeat 3]

Each round runs every variant once — base zh, this checkout zh, base en, this checkout
en — so that a change in the machine's load hits all of them alike; ``--repeat``
rounds after one warm-up round. Measured as whole processes (wall time around the
subprocess and CPU time, user + system, of the child) on: the generated repository
of ``--rows`` rows (valid: no findings but its notes), a broken copy of it (one bad
row in every system, so that each rule's messages are built: the per-finding cost),
the tiny repository ``policies/`` and ``cgcloud --version`` (start-up). Prints a
markdown table (medians) for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import NOW, generate  # noqa: E402

BAD_ROW = (
    "    - {from: 政务外网区, source: 0.0.0.0, to: 互联网公网, target: 10.0.0.1, port: TCP99999}\n"
)


def run(checkout: Path, lang: str, args: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, exit code) of ``python -m cgcloud ARGS`` from
    ``checkout``. CPU time (user + system, from ``os.wait4``) is what the change can
    cost; wall time also counts waiting for a busy machine."""
    env = {**os.environ, "CGCLOUD_LANG": lang, "PYTHONPATH": str(checkout)}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cgcloud", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=checkout,
        env=env,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode


def broken_copy(repo: Path, out: Path) -> Path:
    """``repo`` with one bad row appended to every NetworkPolicy (CG106, CG105, CG108…)."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(repo, out)
    for path in out.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        if "kind: NetworkPolicy" in text and text.rstrip().endswith("}"):
            path.write_text(text.rstrip("\n") + "\n" + BAD_ROW, encoding="utf-8")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--base", type=Path, required=True, help="checkout to compare against")
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=HERE / "out")
    a = ap.parse_args()
    this = HERE.parent
    repo = a.out / str(a.rows)
    generate(repo, a.rows)
    broken = broken_copy(repo, a.out / f"{a.rows}-broken")
    for checkout in (a.base, this):  # both start from bytecode, whatever
        # $PYTHONDONTWRITEBYTECODE says (else one side compiles its sources every run)
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(checkout / "cgcloud")], check=True
        )
    cases = {
        f"validate {a.rows:,} rows": ["validate", str(repo), "--now", NOW],
        f"validate {a.rows:,} rows, broken": ["validate", str(broken), "--now", NOW],
        "validate policies/": ["validate", str(this / "policies"), "--now", NOW],
        "--version": ["--version"],
    }
    variants = [("base", a.base, "zh"), ("this", this, "zh"), ("base", a.base, "en")]
    variants.append(("this", this, "en"))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    print()
    print(
        "| case | lang | base wall median (s) | this wall median (s) "
        "| base CPU median (s) | this CPU median (s) | CPU change | exit |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for name, args in cases.items():
        walls: dict[tuple[str, str], list[float]] = {}
        cpus: dict[tuple[str, str], list[float]] = {}
        codes: set[int] = set()
        for round_ in range(a.repeat + 1):
            for who, checkout, lang in variants:
                wall, cpu, code = run(checkout, lang, args)
                codes.add(code)
                if round_:  # round 0 warms the page and bytecode caches
                    walls.setdefault((who, lang), []).append(wall)
                    cpus.setdefault((who, lang), []).append(cpu)
        for lang in ("zh", "en"):
            bw, tw = (statistics.median(walls[w, lang]) for w in ("base", "this"))
            bc, tc = (statistics.median(cpus[w, lang]) for w in ("base", "this"))
            print(
                f"| {name} | {lang} | {bw:.3f} | {tw:.3f} | {bc:.3f} | {tc:.3f} "
                f"| {(tc - bc) / bc:+.1%} | {sorted(codes)} |"
            )
    print()
    print(f"load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
