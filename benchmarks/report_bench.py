"""Hand-run benchmark of `cgcloud report`: a month for N systems against a local Prometheus.

    python benchmarks/report_bench.py --systems 1000 --step 3600 --work /tmp/report-bench

1. writes a month (2027-01) of the exporter's usage metrics for N systems as OpenMetrics
   (one file per two-hour block: promtool 2.42 re-reads its whole input for every block)
   (approved, used and utilisation of 4 resources each = 12 series per system; disk per
   tier approved and used for 3 tiers = 6; two servers with 3 power gauges = 6; two
   volumes with 5 gauges = 10: 34 series per system, plus the exporter clock and a few
   ALERTS), one sample every --step seconds;
2. backfills it with `promtool tsdb create-blocks-from openmetrics` (kept in --work and
   reused when the same N/step was generated before);
3. starts Debian's prometheus on 127.0.0.1 over that TSDB and times
   `cgcloud report --period 2027-01 --format json|html` as whole processes.
Figures: benchmarks/README.md, `## report`.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

REPO = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Shanghai")
START = int(datetime(2027, 1, 1, tzinfo=TZ).timestamp())
END = int(datetime(2027, 2, 1, tzinfo=TZ).timestamp())
GIB = 1024**3
RES = {"vcpus": 1, "ram_bytes": GIB, "disk_bytes": GIB, "public_ips": 1}


BLOCK = 7200  # promtool writes one block per two hours and re-reads its whole input for
# each one, so the history is written as one file per block (one pass over the data).


def _value(approved: float, share: float, t: int) -> float:
    """Used: a share of the approval, 20 % lower every other day."""
    return round(approved * share * (0.8 + 0.2 * (((t - START) // 86400) % 2)))


def write_history(directory: Path, systems: int, step: int) -> list[Path]:
    rnd = random.Random(7)
    approved = {
        s: {r: rnd.choice([8, 16, 32, 64]) * u for r, u in RES.items()} for s in range(systems)
    }
    share = {s: rnd.uniform(0.05, 1.0) for s in range(systems)}
    labels = {
        s: f'system="系统{s:04d}",tenant="系统{s:04d}",tenant_id="p{s:04d}"' for s in range(systems)
    }
    files = []
    for b in range(START, END, BLOCK):
        ts = [t for t in range(START, END, step) if b <= t < b + BLOCK]
        if not ts:
            continue
        path = directory / f"h-{b}.om"
        with path.open("w", encoding="utf-8") as fh:
            w = fh.write
            for kind in ("approved", "used"):
                for r in RES:
                    w(f"# TYPE cgcloud_{kind}_{r} gauge\n")
                    for s in range(systems):
                        ap = approved[s][r]
                        for t in ts:
                            v = ap if kind == "approved" else _value(ap, share[s], t)
                            w(f"cgcloud_{kind}_{r}{{{labels[s]}}} {v} {t}\n")
            w("# TYPE cgcloud_quota_utilization_ratio gauge\n")
            for r in RES:
                for s in range(systems):
                    ap = approved[s][r]
                    for t in ts:
                        ratio = _value(ap, share[s], t) / ap
                        w(
                            f'cgcloud_quota_utilization_ratio{{{labels[s]},resource="{r}"}} {ratio!r} {t}\n'
                        )
            _storage(w, systems, labels, ts)
            w("# TYPE cgcloud_exporter_clock_timestamp_seconds gauge\n")
            for t in ts:
                w(f'cgcloud_exporter_clock_timestamp_seconds{{job="cgcloud"}} {t} {t}\n')
            w("# TYPE ALERTS gauge\n")
            for k in range(20):  # one 3-hour warning per day for the first 20 days
                a = START + k * 86400 + 3600
                lab = (
                    f'alertname="CgcloudQuotaUsedAboveApproval",alertstate="firing",'
                    f'severity="warning",system="系统{k:04d}"'
                )
                for t in range(max(a, b), min(a + 3 * 3600, b + BLOCK), 60):
                    w(f"ALERTS{{{lab}}} 1 {t}\n")
            w("# EOF\n")
        files.append(path)
    return files


TIERS = ("high-speed", "standard", "system_disk")


def _family(w: Any, name: str, series: list[tuple[str, Any]], ts: list[int]) -> None:
    w(f"# TYPE {name} gauge\n")
    for lab, fn in series:
        for t in ts:
            w(f"{name}{{{lab}}} {fn(t)} {t}\n")


def _storage(w: Any, systems: int, labels: dict[int, str], ts: list[int]) -> None:
    """The 第十八条 families: disk per tier, two servers (the second off from day 10) and
    two high-speed volumes (the second detached, last used 2026-11-01) per system."""
    nov1 = int(datetime(2026, 11, 1, tzinfo=TZ).timestamp())
    off_from = START + 9 * 86400
    for kind, gib in (("approved", 100), ("used", 40)):
        tiers = [
            (f'{labels[s]},tier="{x}"', lambda t, v=gib * GIB: v)
            for s in range(systems)
            for x in TIERS
        ]
        _family(w, f"cgcloud_{kind}_disk_tier_bytes", tiers, ts)
    srv = [
        (f'{labels[s]},server_id="s{s:04d}-{n}",server="host-{n}",shutdown_form=""', n)
        for s in range(systems)
        for n in (0, 1)
    ]
    for name, fn in (
        ("cgcloud_server_powered_on", lambda n, t: 0 if n and t >= off_from else 1),
        (
            "cgcloud_server_power_changed_timestamp_seconds",
            lambda n, t: off_from if n and t >= off_from else START,
        ),
        (
            "cgcloud_server_powered_off_seconds",
            lambda n, t: t - off_from if n and t >= off_from else 0,
        ),
    ):
        _family(w, name, [(lab, partial(fn, n)) for lab, n in srv], ts)
    vol = [
        (f'{labels[s]},volume_id="v{s:04d}-{n}",volume="data-{n}",tier="high-speed"', n)
        for s in range(systems)
        for n in (0, 1)
    ]
    for name, fn in (
        ("cgcloud_volume_size_bytes", lambda n, t: 50 * GIB),
        ("cgcloud_volume_attached_servers", lambda n, t: 1 - n),
        ("cgcloud_volume_in_use", lambda n, t: 1 - n),
        ("cgcloud_volume_last_used_timestamp_seconds", lambda n, t: nov1 if n else t),
        ("cgcloud_volume_idle_seconds", lambda n, t: t - nov1 if n else 0),
    ):
        _family(w, name, [(lab, partial(fn, n)) for lab, n in vol], ts)


def _wait_compacted(url: str) -> None:
    """A backfilled TSDB starts as hundreds of two-hour blocks that Prometheus compacts in
    the background; a long-running server holds compacted blocks, so measure after that."""
    t0, last, stable = time.monotonic(), -1.0, 0
    while stable < 3 or last < 0:
        time.sleep(20)
        text = requests.get(url + "/metrics", timeout=60).text
        n = next(
            (
                float(x.split()[1])
                for x in text.splitlines()
                if x.startswith("prometheus_tsdb_blocks_loaded ")
            ),
            -1.0,
        )
        stable = stable + 1 if n == last else 0
        last = n
    print(f"compacted to {last:.0f} blocks in {time.monotonic() - t0:.0f} s", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--systems", type=int, default=1000)
    ap.add_argument("--step", type=int, default=3600)
    ap.add_argument("--work", type=Path, default=Path("/tmp/report-bench"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    work = args.work / f"{args.systems}x{args.step}-storage"  # with the 第十八条 series
    tsdb = work / "tsdb"
    work.mkdir(parents=True, exist_ok=True)
    if not tsdb.is_dir():
        src = work / "history"
        shutil.rmtree(src, ignore_errors=True)
        src.mkdir()
        t0 = time.monotonic()
        files = write_history(src, args.systems, args.step)
        size = sum(f.stat().st_size for f in files)
        print(
            f"history: {len(files)} files, {size / 1e6:.0f} MB in {time.monotonic() - t0:.1f} s",
            flush=True,
        )
        t0 = time.monotonic()
        tmp = work / "tsdb.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        for f in files:
            subprocess.run(
                ["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(f), str(tmp)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            f.unlink()
        tmp.rename(tsdb)
        print(f"promtool: {time.monotonic() - t0:.1f} s", flush=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = work / "prometheus.yml"
    cfg.write_text("global: {evaluation_interval: 1d}\n", encoding="utf-8")
    log = (work / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={cfg}",
            f"--storage.tsdb.path={tsdb}",
            "--storage.tsdb.retention.time=3650d",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if requests.get(url + "/-/ready", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                sys.exit("prometheus not ready in 300 s")
            time.sleep(0.5)
        _wait_compacted(url)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        for fmt in ("json", "html"):
            for i in range(args.repeat):
                out = work / f"report.{fmt}"
                t0 = time.monotonic()
                r = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "cgcloud",
                        "report",
                        "--period",
                        "2027-01",
                        "--prometheus",
                        url,
                        "--gap",
                        str(args.step * 2),
                        "--audit-log",
                        str(work / "none.jsonl"),
                        "--records",
                        str(work),
                        "--format",
                        fmt,
                        "--out",
                        str(out),
                    ],
                    capture_output=True,
                    text=True,
                    env=env,
                )
                dt = time.monotonic() - t0
                if r.returncode != 0:
                    sys.exit(r.stderr)
                print(
                    f"{fmt} run {i + 1}: {dt:.1f} s ({out.stat().st_size / 1e6:.1f} MB)", flush=True
                )
        print("load average:", os.getloadavg())
    finally:
        proc.terminate()
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()
