"""Nothing read silently less: every policy path under a root is read or reported.

Each case builds the odd thing on disk for real (symlinks, FIFOs, permission bits).
Permission bits do not bind root, so those cases run the loader in a forked child
that has dropped to the ``nobody`` user; without root they run as the current user
(the bits bind); they skip only when neither is possible, saying why.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cgcloud import loader, report
from cgcloud import validate as pipeline
from cgcloud.clock import now_local
from cgcloud.findings import Severity
from cgcloud.schemas import data_dir

POLICIES = data_dir("policies")
NOW = now_local("2026-11-25T10:00")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git-like repository (``.git`` marks its root) holding the shipped policies in p/."""
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    shutil.copytree(POLICIES, tmp_path / "repo" / "p")
    monkeypatch.chdir(tmp_path / "repo")
    return tmp_path / "repo"


def by_file(result: loader.LoadResult) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for f in result.findings:
        out.setdefault(f.file, []).append(f)
    return out


def test_shipped_repository_is_read_whole(repo: Path) -> None:
    r = loader.load(["p"])
    assert r.findings == []
    assert r.read == len(r.files) == 10


def test_symlink_outside_the_repository_is_refused(repo: Path) -> None:
    (repo / "p" / "passwd.yaml").symlink_to("/etc/passwd")
    (repo / "p" / "etc").symlink_to("/etc")
    r = loader.load(["p"])
    found = by_file(r)
    (f,) = found["p/passwd.yaml"]
    assert (f.rule, f.severity) == ("CG009", Severity.ERROR)
    assert "/etc/passwd" in f.message and "仓库之外" in f.message
    (d,) = found["p/etc"]
    assert d.rule == "CG009"
    assert not any("passwd" in doc.file for doc in r.documents)  # never read
    assert r.read == 10 and len(r.files) == 12  # found 12 paths, read 10


def test_symlink_inside_the_repository_is_followed(repo: Path) -> None:
    shared = repo / "shared"
    shared.mkdir()
    (repo / "p" / "zones.yaml").rename(shared / "zones.yaml")
    (repo / "p" / "zones.yaml").symlink_to("../shared/zones.yaml")  # outside p/, inside repo
    (repo / "p" / "team").symlink_to("../shared", target_is_directory=True)
    (shared / "extra.yml").write_text("# 只有注释\n", encoding="utf-8")
    r = loader.load(["p"])
    assert "p/zones.yaml" in r.files and "p/team/extra.yml" in r.files
    assert any(d.file == "p/zones.yaml" for d in r.documents)
    found = by_file(r)
    assert [f.rule for f in found.pop("p/team/extra.yml")] == ["CG006"]  # empty, but read
    # the same real file reached twice (p/zones.yaml and p/team/zones.yaml) is read once
    (twice,) = found.pop("p/team/zones.yaml")
    assert (twice.rule, twice.severity) == ("CG009", Severity.WARNING)
    assert "p/zones.yaml" in twice.message
    assert found == {}
    assert "p/team/zones.yaml" not in r.files


def test_dangling_symlink_and_loop_are_reported(repo: Path) -> None:
    (repo / "p" / "gone.yaml").symlink_to("nothing-here.yaml")
    (repo / "p" / "loop.yaml").symlink_to("loop.yaml")
    (repo / "p" / "a.yml").symlink_to("b.yml")
    (repo / "p" / "b.yml").symlink_to("a.yml")
    found = by_file(loader.load(["p"]))
    assert "悬空" in found["p/gone.yaml"][0].message
    for name in ("p/loop.yaml", "p/a.yml", "p/b.yml"):
        (f,) = found[name]
        assert (f.rule, f.severity) == ("CG009", Severity.ERROR) and "循环" in f.message


def test_folder_symlink_loop_is_walked_once_and_reported(repo: Path) -> None:
    (repo / "p" / "again").symlink_to("..", target_is_directory=True)  # → repo root
    (repo / "p" / "self").symlink_to(".", target_is_directory=True)
    r = loader.load(["p"])
    found = by_file(r)
    assert found["p/self"][0].rule == "CG009" and found["p/self"][0].severity is Severity.WARNING
    assert r.read == 10  # p/ walked once; the repository root (via again/) has nothing else
    assert len(r.documents) == 10


def test_fifo_socket_never_block(repo: Path) -> None:
    """A FIFO named like a policy file would block a naive read forever."""
    os.mkfifo(repo / "p" / "pipe.yaml")
    code = (
        "import sys, json; from cgcloud import loader\n"
        "r = loader.load(sys.argv[1:])\n"
        "print(json.dumps([(f.rule, f.file, f.message) for f in r.findings], ensure_ascii=False))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for target in ("p", "p/pipe.yaml"):  # walked, and named on the command line
        out = subprocess.run(
            [sys.executable, "-c", code, target],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=True,
        )
        (rule, file, message), *_ = json.loads(out.stdout)
        assert (rule, file) == ("CG009", "p/pipe.yaml") and "FIFO" in message


def test_missing_path_is_a_usage_error(repo: Path) -> None:
    with pytest.raises(loader.UsageError):
        loader.load(["no-such-folder"])
    (repo / "dangling-root").symlink_to("nowhere")
    with pytest.raises(loader.UsageError):
        loader.load(["dangling-root"])


def test_summary_counts_found_and_read(repo: Path) -> None:
    (repo / "p" / "gone.yaml").symlink_to("nothing-here.yaml")
    v = pipeline.validate(["p"], NOW)
    assert (len(v.files), v.read) == (11, 10)
    last = report.render(v, "text").splitlines()[-1]
    assert last.startswith("找到 11 个文件，读取了 10 个"), last
    summary = json.loads(report.render(v, "json"))["summary"]
    assert (summary["files"], summary["files_read"]) == (11, 10)


# --------------------------------------------------------------------------- permissions


def _as_unprivileged(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` where permission bits bind: a forked child dropped to ``nobody`` when we
    are root, this process otherwise. The result comes back as JSON through a pipe."""
    if os.geteuid() != 0:
        return fn()
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip(
            "running as root and there is no 'nobody' user to drop to: root ignores "
            "permission bits, so unreadable files cannot be made here"
        )
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(r)
        code = 0
        try:
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            payload = json.dumps({"ok": fn()}, ensure_ascii=False)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            payload, code = json.dumps({"error": repr(exc)}), 1
        os.write(w, payload.encode())
        os._exit(code)
    os.close(w)
    data = b""
    while chunk := os.read(r, 1 << 16):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    answer = json.loads(data)
    assert "error" not in answer, answer["error"]
    return answer["ok"]


def _load_summary(path: str) -> dict[str, Any]:
    r = loader.load([path])
    return {
        "files": r.files,
        "read": r.read,
        "findings": [(f.rule, f.file, f.message) for f in r.findings],
    }


def test_unreadable_folder_file_and_unsearchable_folder(repo: Path, tmp_path: Path) -> None:
    p = repo / "p"
    (p / "noread").mkdir()
    shutil.copy(p / "zones.yaml", p / "noread" / "a.yaml")
    (p / "nosearch").mkdir()
    shutil.copy(p / "zones.yaml", p / "nosearch" / "b.yaml")
    shutil.copy(p / "zones.yaml", p / "secret.yaml")
    for d in (tmp_path, repo, *[x for x in p.rglob("*") if x.is_dir()], p):
        d.chmod(0o755)
    for f in p.rglob("*.yaml"):
        f.chmod(0o644)
    (p / "noread").chmod(0o000)
    (p / "nosearch").chmod(0o444)  # readable (names listed) but not searchable
    (p / "secret.yaml").chmod(0o000)
    try:
        out = _as_unprivileged(lambda: _load_summary("p"))
    finally:
        (p / "noread").chmod(0o755)
        (p / "nosearch").chmod(0o755)
    found = {file: (rule, message) for rule, file, message in out["findings"]}
    assert found["p/noread"][0] == "CG002" and "目录" in found["p/noread"][1]
    assert found["p/nosearch/b.yaml"][0] == "CG002"
    assert found["p/secret.yaml"][0] == "CG002"
    assert out["read"] == 10
    assert {"p/noread", "p/nosearch/b.yaml", "p/secret.yaml"} <= set(out["files"])


def test_odd_file_names_reach_every_output_format(repo: Path) -> None:
    """A name that is not UTF-8 (kept as lone surrogates, which no encoder accepts: SARIF
    crashed) or holds a newline (it split a ``file:line:col`` line) is shown printably."""
    folder = os.fsencode(repo / "p")
    for name in (b"\xff\xfe.yaml", b"new\nline.yaml", b"tab\t.yaml"):
        with open(os.path.join(folder, name), "wb") as fh:
            fh.write(b"a: [\n")
    v = pipeline.validate(["p"], NOW)
    broken = sorted(f.file for f in v.findings if f.rule == "CG001")
    assert broken == ["p/new\\x0aline.yaml", "p/tab\\x09.yaml", "p/\ufffd\ufffd.yaml"]
    for fmt in ("text", "json", "sarif", "github", "junit"):
        out = report.render(v, fmt)
        out.encode("utf-8")  # strict: no lone surrogates left
    text = report.render(v, "text").splitlines()
    assert sum(1 for line in text if ": error CG001 " in line) == 3
    assert all("CG001 YAML 语法错误: 缺少闭合的 ]" in line for line in text if "CG001" in line)


def test_a_deleted_working_folder_is_no_traceback(repo: Path, tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    code = (
        "import os, sys; os.chdir(sys.argv[1]); os.rmdir(sys.argv[1])\n"
        "from cgcloud import loader\n"
        "r = loader.load([sys.argv[2]])\n"
        "print(r.read, r.files[0])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run(
        [sys.executable, "-c", code, str(gone), str(repo / "p")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    read, first = out.stdout.split()
    assert read == "10" and first == (repo / "p" / "high-risk-ports.yaml").as_posix()


def test_a_bad_size_limit_in_the_environment_is_a_usage_error(repo: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for bad in ("abc", "-5", "0", "1e9"):
        r = subprocess.run(
            [sys.executable, "-m", "cgcloud", "validate", "p"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**env, "CGCLOUD_MAX_FILE_BYTES": bad},
        )
        assert "Traceback" not in r.stderr and "CGCLOUD_MAX_FILE_BYTES" in r.stderr, r.stderr
        assert r.returncode not in (0, 1)
    r = subprocess.run(
        [sys.executable, "-m", "cgcloud", "validate", "p"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "CGCLOUD_MAX_FILE_BYTES": "100"},
    )
    assert r.returncode == 1 and "CG008" in r.stdout
