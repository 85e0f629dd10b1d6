"""Fuzzing the loader and the validator (docs/reliability.md, "10a").

Real shipped forms are mutated the way files get broken in real life and by hostile
testers — byte flips, truncation, hostile snippets (BOMs, CRLF, NULs, deep brackets,
huge numbers, odd unicode, anchors, tabs) inserted anywhere, lines duplicated or
dropped — and put back into a copy of the shipped repository, so every cross-form rule
runs too. Each example runs ``cgcloud validate -f json`` in-process and asserts:

* no exception escapes (a traceback is a bug);
* the exit code is in the table (0 clean, 1 findings);
* every finding has a file, a line and a column (>= 1), a known rule ID and a message;
* the output is bounded (capping) and the run finished within a bounded time.

The budget is small by default so CI stays fast (profile ``cgcloud-ci``: 25 examples
per test, a few seconds); ``CGCLOUD_FUZZ_PROFILE=cgcloud-deep`` runs 2,000.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cgcloud import capping
from cgcloud.cli import app
from cgcloud.rules import REGISTRY
from cgcloud.schemas import data_dir

settings.register_profile(
    "cgcloud-ci",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "cgcloud-deep",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ = settings(settings.get_profile(os.environ.get("CGCLOUD_FUZZ_PROFILE", "cgcloud-ci")))

POLICIES = data_dir("policies")
FORMS = sorted(p.relative_to(POLICIES).as_posix() for p in POLICIES.rglob("*.yaml"))
SECONDS_PER_RUN = 60.0  # a validation of this repository takes ~0.1 s; 600x for a loaded box
EXIT_TABLE = {0, 1}
runner = CliRunner()

HOSTILE = [
    b"\xef\xbb\xbf",
    b"\r\n",
    b"\r",
    b"\x00",
    b"\t",
    b"\xff\xfe",
    b"\xc3",
    b"\xed\xa0\x80",
    b"[" * 80,
    b"{" * 80,
    b"]" * 5,
    b"}",
    b"- " * 70,
    b"  " * 70 + b"a: 1\n",
    b"9" * 500,
    b"-1e999",
    b"1e309",
    b".nan",
    b"0x" + b"f" * 40,
    b"9999-12-31",
    b"0000-00-00",
    b"2026-02-30",
    b"\xe2\x80\xae",
    b"\xf0\x9f\x92\xa9",
    b"\xe3\x80\x80",
    b"\xc2\x85",
    b"&a ",
    b"*a",
    b"!!python/object ",
    b"? ",
    b": ",
    b":",
    b"#",
    b"'",
    b'"',
    b"\\",
    b"---\n",
    b"...\n",
    b"%YAML 1.1\n",
    b"<<: ",
    b"~",
    b"null",
    b"yes",
    b"\n" * 3,
    b"period: {start: 2027-01-01, end: 9999-12-31}",
    b"shutdown_date: 9999-12-31",
    b"port: TCP0-65535",
    b"cidr: 0.0.0.0/0",
    b"::/0",
    b"\xe9\xab\x98\xe5\x8d\xb1",
]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    """(a shipped form's path, its bytes after 1–4 mutations)."""
    name = draw(st.sampled_from(FORMS))
    raw = bytearray((POLICIES / name).read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(
                ["flip", "truncate", "insert", "insert", "delete", "dup_line", "wrap", "repeat"]
            )
        )
        at = draw(st.integers(0, max(0, len(raw))))
        if kind == "flip" and raw:
            i = min(at, len(raw) - 1)
            raw[i] ^= draw(st.integers(1, 255))
        elif kind == "truncate":
            del raw[at:]
        elif kind == "insert":
            snippet = draw(
                st.one_of(
                    st.sampled_from(HOSTILE),
                    st.binary(max_size=12),
                    st.text(max_size=8).map(lambda t: t.encode("utf-8")),
                )
            )
            raw[at:at] = snippet
        elif kind == "delete":
            del raw[at : at + draw(st.integers(1, 40))]
        elif kind == "dup_line":
            start = raw.rfind(b"\n", 0, at) + 1
            end = raw.find(b"\n", at)
            line = raw[start : end + 1 if end >= 0 else len(raw)]
            raw[start:start] = line
        elif kind == "wrap":  # nest the whole document deeper and deeper
            depth = draw(st.integers(1, 120))
            raw[:] = b"[" * depth + bytes(raw) + b"]" * depth
        elif kind == "repeat":  # a huge flow line of repeated pairs
            count = draw(st.integers(100, 5000))
            raw[at:at] = b"{" + b", ".join(b"k%d: 1" % i for i in range(count)) + b"}"
    return name, bytes(raw)


@contextmanager
def repository() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="cgcloud-fuzz-") as tmp:
        root = Path(tmp) / "p"
        shutil.copytree(POLICIES, root)
        yield root


def check_run(root: Path, now: str = "2026-11-25T10:00") -> dict[str, Any]:
    """One ``cgcloud validate -f json`` in-process, with every guarantee asserted."""
    t0 = time.monotonic()
    r = runner.invoke(app, ["validate", str(root), "--now", now, "-f", "json"])
    took = time.monotonic() - t0
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code in EXIT_TABLE, (r.exit_code, r.output[-2000:])
    assert took < SECONDS_PER_RUN, took
    out = json.loads(r.stdout)
    per: dict[tuple[str, str], int] = {}
    for f in out["findings"]:
        assert f["file"] and f["line"] >= 1 and f["column"] >= 1, f
        assert f["rule"] in REGISTRY and f["message"], f
        per[(f["file"], f["rule"])] = per.get((f["file"], f["rule"]), 0) + 1
    assert all(n <= capping.MAX_PER_RULE + 1 for n in per.values()), per
    assert out["summary"]["files_read"] <= out["summary"]["files"]
    assert (r.exit_code == 1) == (out["summary"]["error"] > 0)
    return out


def check_explain(root: Path, now: str) -> None:
    """``cgcloud explain -f json`` describes whatever loaded: no exception, exit 0."""
    r = runner.invoke(app, ["explain", str(root), "--now", now, "-f", "json"])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code == 0, r.output[-2000:]
    json.loads(r.stdout)


@pytest.fixture(scope="module")
def fuzz_repo() -> Iterator[Path]:
    with repository() as root:
        yield root


@FUZZ
@given(case=mutated())
def test_mutated_shipped_forms(fuzz_repo: Path, case: tuple[str, bytes]) -> None:
    name, raw = case
    target = fuzz_repo / name
    original = (POLICIES / name).read_bytes()
    target.write_bytes(raw)
    try:
        check_run(fuzz_repo)
    finally:
        target.write_bytes(original)


# YAML documents built from scratch: any JSON-like value is valid YAML flow syntax, so the
# structure fuzzer reaches the schema and the rules rather than stopping at the parser.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(
        [
            "9999-12-31",
            "0001-01-01",
            "2026-02-30",
            "TCP80,443",
            "0.0.0.0/0",
            "172.20.4.11",
            "/",
            "gov",
            "cgcloud/v1",
            "Zones",
            "NetworkPolicy",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=30,
)
forms = st.fixed_dictionaries(
    {
        "apiVersion": st.just("cgcloud/v1"),
        "kind": st.sampled_from(
            [
                "Zones",
                "HighRiskPorts",
                "Roster",
                "AnnualPlan",
                "ResourceApplication",
                "NetworkPolicy",
                "ShutdownNotice",
                "ProjectApplication",
                "Other",
            ]
        ),
    },
    optional={"metadata": values, "spec": values, "zones": values, "ports": values},
)


@FUZZ
@given(docs=st.lists(forms, min_size=1, max_size=3), crlf=st.booleans(), bom=st.booleans())
def test_generated_forms(
    fuzz_repo: Path, docs: list[dict[str, Any]], crlf: bool, bom: bool
) -> None:
    text = "".join("---\n" + json.dumps(d, ensure_ascii=False) + "\n" for d in docs)
    raw = text.encode("utf-8")
    if crlf:
        raw = raw.replace(b"\n", b"\r\n")
    if bom:
        raw = b"\xef\xbb\xbf" + raw
    target = fuzz_repo / "fuzz-generated.yaml"
    target.write_bytes(raw)
    try:
        check_run(fuzz_repo)
    finally:
        target.unlink()


# Values swapped inside otherwise valid forms: the documents stay schema-shaped often
# enough that the model, the grammar (addresses, ports) and every rule see odd values.
ODD_VALUES = st.one_of(
    st.sampled_from(
        [
            "9999-12-31",
            "0001-01-01",
            "0001-01-02",
            "2026-02-29",
            "2028-02-29",
            "2026-12-31",
            "TCP0-65535",
            "TCP65535",
            "TCP65536",
            "UDP0",
            "TCP1-0",
            "ICMP",
            "TCP80、443,8080",
            "0.0.0.0/0",
            "0.0.0.0/32",
            "255.255.255.255",
            "172.20.4.1-172.20.4.0",
            "172.20.4.1-255",
            "172.20.4.0/33",
            "::1",
            "1.2.3.4/8",
            "、",
            "/",
            "",
            " ",
            "gov",
            "internet",
            "is",
            "ok",
            "new",
            "expand",
            "all",
            "-",
            "9" * 40,
        ]
    ),
    st.integers(-(10**20), 10**20),
    st.booleans(),
    st.none(),
    st.text(max_size=15),
)


def _leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaf_paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaf_paths(v, (*path, i))]
    return [path]


def _shipped_documents() -> dict[str, list[Any]]:
    from cgcloud import loader

    out: dict[str, list[Any]] = {}
    for doc in loader.load([POLICIES]).documents:
        name = Path(doc.source.path).relative_to(POLICIES).as_posix()
        out.setdefault(name, []).append(doc.data)
    return out


SHIPPED = _shipped_documents()


@FUZZ
@given(data=st.data())
def test_odd_values_in_valid_forms(fuzz_repo: Path, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(SHIPPED)))
    docs = json.loads(json.dumps(SHIPPED[name]))
    for _ in range(data.draw(st.integers(1, 6))):
        doc = data.draw(st.sampled_from(docs))
        paths = _leaf_paths(doc)
        if not paths or paths == [()]:
            continue
        path = data.draw(st.sampled_from(paths))
        node = doc
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = data.draw(ODD_VALUES)
    target = fuzz_repo / name
    original = (POLICIES / name).read_bytes()
    target.write_text(
        "".join("---\n" + json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8"
    )
    now = data.draw(
        st.sampled_from(["2026-11-25T10:00", "2027-06-30", "0001-01-02", "9999-12-31T23:59:59"])
    )
    try:
        check_run(fuzz_repo, now)
        check_explain(fuzz_repo, now)
    finally:
        target.write_bytes(original)
