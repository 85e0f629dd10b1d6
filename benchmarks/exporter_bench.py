"""Scrape latency and memory of `cgcloud exporter` at 1,000 systems / 50,000 rules.

    python benchmarks/exporter_bench.py [--systems 1000] [--rules 50000] [--scrapes 30]

A child process plays the exporter: it builds a synthetic snapshot with the
real ``exporter.compute`` (hand-built inputs shaped like one refresh: managed
projects, groups, 50 rules per system with cgcloud descriptions, high-risk rows,
SSH exposures, servers, volumes, floating IPs, decommissions …), renders it
once, and serves it with the real HTTP server. The parent scrapes /metrics
(plain and gzip, as Prometheus asks) and reads the child's peak RSS (VmHWM).
No OpenStack is involved: the point is that a scrape costs only the cached bytes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def synthetic(systems: int, rules: int) -> object:
    from cgcloud import clock, desired
    from cgcloud import exporter as ex
    from cgcloud import plan as p

    now = clock.now_local("2027-01-15T10:00")
    state = desired.DesiredState(now=now.isoformat())
    actual = p.ActualState()
    servers, ingress = [], []
    per = max(1, rules // systems)
    for i in range(systems):
        system = f"系统{i:04d}"
        pid = f"{i:032x}"
        state.projects.append(
            desired.Project(
                system,
                system,
                "formal",
                "",
                [],
                desired.Quotas(cores=64, ram_mb=131072, gigabytes=4000, floating_ips=2),
                [],
            )
        )
        actual.projects.append(
            p.AProject(pid, system, [desired.MANAGED_TAG, desired.SYSTEM_TAG + system])
        )
        for g in range(3):
            gid = f"{i:028x}{g:04x}"
            actual.groups.append(
                p.AGroup(
                    gid,
                    f"cg-{system}-{g}",
                    pid,
                    [
                        desired.MANAGED_TAG,
                        desired.SYSTEM_TAG + system,
                        desired.GROUP_TAG + f"{i:012x}{g:04x}",
                    ],
                )
            )
        for r in range(per):
            hr = r % 12 == 0
            until = "2027-01-31" if hr else "2027-12-31"
            port = 22 if hr else 8000 + r
            actual.rules.append(
                p.ARule(
                    f"{i:024x}{r:08x}",
                    f"{i:028x}{r % 3:04x}",
                    "ingress",
                    "IPv4",
                    "tcp",
                    port,
                    port,
                    "172.20.0.10/32" if hr else "10.19.0.0/16",
                    None,
                    f"cgcloud WL-2026-{i:04d}#{r + 1} until {until}",
                )
            )
            if r % 25 == 0:
                remote = "0.0.0.0/0" if i % 100 == 0 else "172.20.0.10/32"
                ingress.append(
                    p.ARule(f"x{i}-{r}", f"{i:028x}0000", "ingress", "IPv4", "tcp", 22, 22, remote)
                )
        for s in range(4):
            servers.append(
                ex.Server(
                    f"{i:028x}{s:04x}",
                    "",
                    pid,
                    "ACTIVE",
                    [f"172.21.{i % 250}.{s}"],
                    {},
                    8,
                    16384,
                    100,
                )
            )
    view = ex.CloudView(
        actual,
        ingress=ingress,
        servers=servers,
        volume_gb={x.id: 1000 for x in actual.projects},
        floating_ips={x.id: 1 for x in actual.projects},
    )
    return ex.Inputs(now=now, state=state, view=view, plan=p.Plan(now=state.now))


def serve(systems: int, rules: int, port: int) -> None:
    from cgcloud import exporter as ex

    t0 = time.perf_counter()
    inp = synthetic(systems, rules)
    t1 = time.perf_counter()
    families = ex.compute(inp)  # type: ignore[arg-type]
    t2 = time.perf_counter()
    e = ex.Exporter([], "bench", log=lambda m: None)
    e.set_snapshot(families)
    e.payload(True)  # the gzip copy is made once per snapshot, at the first gzip scrape
    t3 = time.perf_counter()
    server = ex.make_server(e, "127.0.0.1", port)
    print(
        json.dumps(
            {
                "synthetic_s": t1 - t0,
                "compute_s": t2 - t1,
                "render_s": t3 - t2,
                "bytes": len(e.payload(False)),
                "gzip_bytes": len(e.payload(True)),
            }
        ),
        flush=True,
    )
    server.serve_forever()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _vm(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--systems", type=int, default=1000)
    ap.add_argument("--rules", type=int, default=50000)
    ap.add_argument("--scrapes", type=int, default=30)
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve:
        serve(a.systems, a.rules, a.serve)
        return 0
    port = _free_port()
    child = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--systems",
            str(a.systems),
            "--rules",
            str(a.rules),
            "--serve",
            str(port),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        build = json.loads(child.stdout.readline())  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}/metrics"
        out = {"systems": a.systems, "rules": a.rules, **build}
        for mode in ("plain", "gzip"):
            times = []
            for _ in range(a.scrapes):
                req = urllib.request.Request(
                    url, headers={"Accept-Encoding": "gzip"} if mode == "gzip" else {}
                )
                t = time.perf_counter()
                with urllib.request.urlopen(req, timeout=10) as r:
                    body = r.read()
                times.append(time.perf_counter() - t)
            if mode == "gzip":
                body = gzip.decompress(body)
            series = sum(1 for line in body.split(b"\n") if line and not line.startswith(b"#"))
            times.sort()
            out[f"scrape_{mode}_ms"] = {
                "median": round(statistics.median(times) * 1000, 1),
                "p95": round(times[int(len(times) * 0.95) - 1] * 1000, 1),
                "max": round(times[-1] * 1000, 1),
            }
            out["series"] = series
        out["peak_rss_mb"] = round(_vm(child.pid, "VmHWM") / 2**20, 1)
        out["rss_mb"] = round(_vm(child.pid, "VmRSS") / 2**20, 1)
    finally:
        child.terminate()
        child.wait(10)
    print(json.dumps(out, indent=2, ensure_ascii=False))
    ok = out["scrape_gzip_ms"]["p95"] < 100 and out["peak_rss_mb"] < 300  # type: ignore[index]
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
