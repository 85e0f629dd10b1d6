"""What speaking two languages costs: `cgcloud validate` and start-up, in zh and en,
against a base checkout (e.g. the commit before the catalogs sweep).

    git worktree add /tmp/base-lang 9efa458
    python benchmarks/language_bench.py --base /tmp/base-lang [--rows 50000] [--repeat 3]

Each round runs every variant once — base zh, this checkout zh, base en, this checkout
en — so that a change in the machine's load hits all of them alike; ``--repeat``
rounds after one warm-up round. Measured as whole processes (``validate_bench.run_once``:
wall time around the subprocess, peak RSS of the child) on: the generated repository
of ``--rows`` rows (valid: no findings but its notes), a broken copy of it (one bad
row in every system, so that each rule's messages are built: the per-finding cost),
the tiny repository ``policies/`` and ``cgcloud --version`` (start-up). Prints a
markdown table (median and best wall time) for benchmarks/README.md.
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
    "    - {from: 政务外网区, source: 0.0.0.0, to: 互联网公网, target: 10.0.0.1,"
    " port: TCP99999}\n"
)


def run(checkout: Path, lang: str, args: list[str]) -> tuple[float, int]:
    """(wall seconds, exit code) of ``python -m cgcloud ARGS`` from ``checkout``."""
    env = {**os.environ, "CGCLOUD_LANG": lang, "PYTHONPATH": str(checkout)}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "cgcloud", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=checkout,
        env=env,
        check=False,
    )
    return time.perf_counter() - start, proc.returncode


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
    print("| case | lang | base median (s) | base best | this median (s) | this best | exit |")
    print("|---|---|---:|---:|---:|---:|---|")
    for name, args in cases.items():
        times: dict[tuple[str, str], list[float]] = {}
        codes: set[int] = set()
        for round_ in range(a.repeat + 1):
            for who, checkout, lang in variants:
                wall, code = run(checkout, lang, args)
                codes.add(code)
                if round_:  # round 0 warms the page and bytecode caches
                    times.setdefault((who, lang), []).append(wall)
        for lang in ("zh", "en"):
            b, t = times["base", lang], times["this", lang]
            print(
                f"| {name} | {lang} | {statistics.median(b):.3f} | {min(b):.3f} "
                f"| {statistics.median(t):.3f} | {min(t):.3f} | {sorted(codes)} |"
            )
    print()
    print(f"load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
