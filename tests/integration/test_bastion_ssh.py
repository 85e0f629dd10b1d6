"""Bastion-only access against real sshd on loopback (issue 15, 第十九条).

A bastion sshd whose authorized_keys files cgcloud manages, two target sshds that
accept the test users only from the bastion's address (tests/integration/sshlab.py).
The forms are written relative to today (the bastion checks expiry-time with the
real clock). Commands run as a user would run them: ``python -m cgcloud …``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sshlab

from cgcloud import clock
from cgcloud.bastion import access, authorized_keys, config, keys, transport
from cgcloud.bastion.openssh import OpenSshBackend

ROOT = Path(__file__).resolve().parents[2]
CLI_TIMEOUT = 120  # seconds for one cgcloud process on a loaded 2-core box


pytestmark = pytest.mark.needs_apt  # Debian's openssh-server, installed when missing


@pytest.fixture(scope="module")
def lab(tmp_path_factory):  # type: ignore[no-untyped-def]
    from promtools import unavailable

    why = sshlab.ensure_openssh_server()
    if why:
        unavailable(why)  # a skip with the reason (a failure with CGCLOUD_REQUIRE_ALL=1)
    lab = sshlab.start(tmp_path_factory.mktemp("sshlab"))
    yield lab
    lab.close()


# --------------------------------------------------------------------------- the forms


def _d(days: int) -> str:
    return (clock.today(clock.now_local()) + timedelta(days=days)).isoformat()


def write_forms(
    root: Path, lab: sshlab.Lab, *, second_user: bool = True, second_row: bool = True
) -> None:
    """A repository for today: user[0] via PA-1/WL-1, user[1] via PA-2/WL-2, both to
    target A only. ``second_user=False`` drops PA-2; ``second_row=False`` drops WL-2's row."""
    year = clock.today(clock.now_local()).year
    a, b = lab.targets["A"].host, lab.users
    files = {
        "zones.yaml": """
            apiVersion: cgcloud/v1
            kind: Zones
            zones:
              - {id: lab, name: 实验区, internal: true, cidrs: [127.0.0.0/8]}
              - {id: public, name: 互联网公网, internal: false}
            flows: [[public, lab]]
            bastions:
              - {zone: lab, address: 127.0.0.1}
            """,
        "roster.yaml": """
            apiVersion: cgcloud/v1
            kind: Roster
            people:
              - {name: 赵六, roles: [department]}
              - {name: 王五, roles: [initial, business_leader]}
              - {name: 钱七, roles: [recheck, cloud_resource_manager]}
              - {name: 孙八, roles: [final]}
              - {name: 吴十, roles: [cloud_resource_leader]}
              - {name: 某某集成公司, roles: [integrator]}
              - {name: 某某监理公司, roles: [supervisor]}
              - {name: 某某项目管理公司, roles: [project_manager]}
              - {name: 武汉云, roles: [cloud_provider]}
            """,
        "plan.yaml": f"""
            apiVersion: cgcloud/v1
            kind: AnnualPlan
            metadata: {{id: JH-{year}, department: 市政设施处}}
            spec: {{year: {year}, vcpu: 64, memory_gb: 128, disk_gb: 4000, public_ip: 2}}
            """,
        "resources.yaml": f"""
            apiVersion: cgcloud/v1
            kind: ResourceApplication
            metadata: {{id: ZY-LAB-1, system: 实验系统, department: 市政设施处}}
            spec:
              type: new
              year: {year}
              contact: {{name: 张三, phone: "027-85551234"}}
              reason: 堡垒机实验
              operators: [{{name: 运维a, phone: "13800000000"}}, {{name: 运维b, phone: "13800000001"}}]
              resources:
                - {{type: server, vcpu: 2, memory_gb: 4, system_disk_gb: 20, count: 2}}
              approvals:
                department: {{by: 赵六, date: {_d(-20)}, opinion: 同意}}
                initial: {{by: 王五, date: {_d(-19)}, opinion: 同意}}
                recheck: {{by: 钱七, date: {_d(-18)}, recommend: formal}}
                final: {{by: 孙八, date: {_d(-17)}, decision: formal}}
            """,
    }

    def policy(pid: str, rows: list[str], days: int) -> str:
        body = "".join(f"    - {r}\n" for r in rows)
        return (
            f"""
            apiVersion: cgcloud/v1
            kind: NetworkPolicy
            metadata: {{id: {pid}, system: 实验系统}}
            spec:
              applicant: {{org: 某某科技有限公司, name: 周九, phone: "13900000000"}}
              normal:
                reason: 实验
                period: {{start: {_d(-1)}, end: {_d(20)}}}
              high_risk:
                reason: 上线调试期间经堡垒机运维
                period: {{start: {_d(-1)}, end: {_d(days)}}}
              reviewers:
                cloud_resource_manager: {{by: 钱七, date: {_d(-5)}}}
                business_leader: {{by: 王五, date: {_d(-4)}}}
                cloud_resource_leader: {{by: 吴十, date: {_d(-3)}}}
              rules:
            """
            + "\n".join("                " + line for line in body.splitlines())
            + "\n"
        )

    ssh_a = f"{{from: lab, source: 127.0.0.1, to: lab, target: {a}, port: TCP22}}"
    web = f"{{from: lab, source: 127.0.0.1, to: lab, target: {a}, port: TCP8443}}"
    files["wl1.yaml"] = policy("WL-LAB-1", [ssh_a], 1)
    files["wl2.yaml"] = policy("WL-LAB-2", [ssh_a] if second_row else [web], 2)

    def project(pid: str, forms: str, user: str) -> str:
        pub = Path(str(lab.user_keys[user]) + ".pub").read_text().strip()
        return f"""
            apiVersion: cgcloud/v1
            kind: ProjectApplication
            metadata: {{id: {pid}, project: 实验项目}}
            spec:
              forms: [{forms}]
              accounts:
                - {{name: 运维{user[-1]}, type: bastion, login: {user}, ssh_key: "{pub}"}}
              signoffs:
                integrator: {{by: 某某集成公司, date: {_d(-16)}}}
                supervisor: {{by: 某某监理公司, date: {_d(-16)}}}
                project_manager: {{by: 某某项目管理公司, date: {_d(-16)}}}
                cloud_provider: {{by: 武汉云, date: {_d(-16)}}}
            """

    files["pa1.yaml"] = project("KT-LAB-1", "ZY-LAB-1, WL-LAB-1", b[0])
    if second_user:
        files["pa2.yaml"] = project("KT-LAB-2", "WL-LAB-2", b[1])
    root.mkdir(parents=True, exist_ok=True)
    for old in root.glob("*.yaml"):
        old.unlink()
    shutil.copy(ROOT / "policies" / "high-risk-ports.yaml", root / "high-risk-ports.yaml")
    import textwrap

    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    (root / "known_hosts").write_text(lab.known_hosts())


def write_config(path: Path, lab: sshlab.Lab, *, port: int | None = None) -> Path:
    path.write_text(
        "bastions:\n"
        "  - address: 127.0.0.1\n"
        f"    endpoint: 127.0.0.1:{port or lab.bastion.port}\n"
        "    user: root\n"
        f"    identity: {lab.mgmt_key}\n"
        f"    keys_dir: {lab.keys_dir}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def repo(lab, tmp_path):  # type: ignore[no-untyped-def]
    """A fresh policy repository, config and audit log; the bastion's managed files and the
    lab's keys directory are emptied so that every test starts from nothing."""
    for f in lab.keys_dir.iterdir():
        f.unlink()
    root = tmp_path / "policies"
    write_forms(root, lab)
    cfg = write_config(tmp_path / "bastions.yaml", lab)
    return root, cfg, tmp_path / "audit.jsonl"


def cgcloud(
    *args: str,
    cfg: Path,
    audit: Path,
    timeout: float = CLI_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CGCLOUD_BASTIONS": str(cfg),
        "CGCLOUD_AUDIT_LOG": str(audit),
    }
    return subprocess.run(
        [sys.executable, "-m", "cgcloud", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=str(ROOT),
    )


def audit_entries(path: Path) -> list[dict]:  # type: ignore[type-arg]
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def login_via_bastion(lab: sshlab.Lab, user: str, target: str, known_hosts: Path) -> str:
    """``echo ok`` on a target through the bastion as ``user`` (paramiko, both keys checked)."""
    b = transport.connect(
        "127.0.0.1",
        lab.bastion.port,
        user,
        known_hosts=known_hosts,
        identity=str(lab.user_keys[user]),
        timeout=15,
    )
    try:
        t = transport.through(
            b,
            lab.targets[target].host,
            22,
            user,
            known_hosts=known_hosts,
            identity=str(lab.user_keys[user]),
            timeout=15,
        )
        try:
            _, out, _ = t.exec_command("echo ok", timeout=15)
            return out.read().decode().strip()
        finally:
            t.close()
    finally:
        b.close()


# --------------------------------------------------------------------------- tests


def test_apply_grants_then_is_idempotent_and_audited(lab, repo):  # type: ignore[no-untyped-def]
    root, cfg, audit = repo
    u1, u2 = lab.users
    with pytest.raises(transport.SshError, match="拒绝了"):  # nothing written yet
        login_via_bastion(lab, u1, "A", root / "known_hosts")
    plan = cgcloud("bastion", "plan", str(root), "--detailed-exitcode", cfg=cfg, audit=audit)
    assert plan.returncode == 2, plan.stderr
    assert f"+ {u1}" in plan.stdout and f"{lab.targets['A'].host}:22" in plan.stdout
    done = cgcloud("bastion", "apply", str(root), "--yes", cfg=cfg, audit=audit)
    assert done.returncode == 0, done.stderr + done.stdout
    text = (lab.keys_dir / u1).read_text()
    assert text.startswith(authorized_keys.HEADER)
    assert f'permitopen="{lab.targets["A"].host}:22"' in text and "restrict," in text
    assert login_via_bastion(lab, u1, "A", root / "known_hosts") == "ok"
    assert login_via_bastion(lab, u2, "A", root / "known_hosts") == "ok"
    entries = audit_entries(audit)
    assert {(e["action"], e["login"], e["result"]) for e in entries} == {
        ("bastion-create", u1, "done"),
        ("bastion-create", u2, "done"),
    }
    # a second apply changes nothing
    again = cgcloud("bastion", "plan", str(root), "--detailed-exitcode", cfg=cfg, audit=audit)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 个新增，0 个修改，0 个删除" in again.stdout
    before = (lab.keys_dir / u1).stat().st_mtime_ns
    assert cgcloud("bastion", "apply", str(root), "--yes", cfg=cfg, audit=audit).returncode == 0
    assert (lab.keys_dir / u1).stat().st_mtime_ns == before
    assert len(audit_entries(audit)) == 2


def test_expiry_time_in_utc_is_what_sshd_enforces(lab, repo):  # type: ignore[no-untyped-def]
    root, cfg, _audit = repo
    u1 = lab.users[0]
    ends = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=12)
    pub = keys.parse(Path(str(lab.user_keys[u1]) + ".pub").read_text())
    account = access.Account(
        u1,
        "运维a",
        [pub],
        [access.Grant(lab.targets["A"].host, 22, ends.astimezone(clock.TZ), "WL-LAB-1", 1)],
        ["KT-LAB-1"],
    )
    backend = OpenSshBackend(config.load(cfg).endpoint("127.0.0.1"), root / "known_hosts")
    try:
        backend.write(u1, authorized_keys.render(account))
    finally:
        backend.close()
    assert f'expiry-time="{ends.strftime("%Y%m%d%H%M%S")}Z"' in (lab.keys_dir / u1).read_text()
    assert login_via_bastion(lab, u1, "A", root / "known_hosts") == "ok"
    time.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 2)
    with pytest.raises(transport.SshError, match="拒绝了"):
        login_via_bastion(lab, u1, "A", root / "known_hosts")


def test_target_without_row_refused_by_cgcloud_and_by_bastion(lab, repo):  # type: ignore[no-untyped-def]
    root, cfg, audit = repo
    u1 = lab.users[0]
    assert cgcloud("bastion", "apply", str(root), "--yes", cfg=cfg, audit=audit).returncode == 0
    b_host = lab.targets["B"].host
    # cgcloud refuses before connecting: the same answer with the bastion unreachable
    dead = write_config(root.parent / "dead.yaml", lab, port=sshlab.free_port())
    refused = cgcloud(
        "ssh",
        "--as",
        u1,
        "--policies",
        str(root),
        b_host,
        "--",
        "echo",
        "hi",
        cfg=dead,
        audit=audit,
    )
    assert refused.returncode == 1
    assert "没有从堡垒机到" in refused.stderr and b_host in refused.stderr
    assert audit_entries(audit)[-1]["result"] == "refused"
    # the bastion itself refuses the channel (its permitopen lists target A only)
    b = transport.connect(
        "127.0.0.1",
        lab.bastion.port,
        u1,
        known_hosts=root / "known_hosts",
        identity=str(lab.user_keys[u1]),
    )
    try:
        with pytest.raises(transport.SshError, match="(?i)administratively prohibited"):
            transport.open_direct(b, b_host, 22)
        # and a shell on the bastion is refused (forced command /bin/false)
        _, out, _ = b.exec_command("echo shell", timeout=15)
        assert out.read() == b"" and out.channel.recv_exit_status() != 0
    finally:
        b.close()


def test_cgcloud_ssh_runs_command_and_audits_bytes(lab, repo):  # type: ignore[no-untyped-def]
    root, cfg, audit = repo
    u1 = lab.users[0]
    assert cgcloud("bastion", "apply", str(root), "--yes", cfg=cfg, audit=audit).returncode == 0
    (root.parent / "cfg_user.yaml").write_text(
        cfg.read_text() + f"login: {u1}\nidentity: {lab.user_keys[u1]}\n"
    )
    a_host = lab.targets["A"].host
    run = cgcloud(
        "ssh",
        "--policies",
        str(root),
        a_host,
        "--",
        "echo",
        "hello-bastion;",
        "exit",
        "3",
        cfg=root.parent / "cfg_user.yaml",
        audit=audit,
    )
    # the one exit-code table: a failed remote command is 1, its own status is told and audited
    assert run.stdout.strip() == "hello-bastion" and run.returncode == 1, run.stderr
    assert "退出码 3" in run.stderr
    e = audit_entries(audit)[-1]
    assert (e["action"], e["login"], e["bastion"], e["target"], e["exit_status"]) == (
        "ssh",
        u1,
        "127.0.0.1",
        f"{a_host}:22",
        3,
    )
    assert e["command"] == "echo hello-bastion; exit 3" and e["bytes_received"] >= len(
        "hello-bastion"
    )


def test_direct_connection_to_target_fails(lab, repo):  # type: ignore[no-untyped-def]
    root, _cfg, _audit = repo
    u1 = lab.users[0]
    sock = socket.socket()
    sock.settimeout(15)
    sock.bind(("127.0.0.9", 0))  # any address but the bastion's
    sock.connect((lab.targets["A"].host, 22))
    with pytest.raises(transport.SshError, match="拒绝了"):
        transport.connect(
            lab.targets["A"].host,
            22,
            u1,
            known_hosts=root / "known_hosts",
            identity=str(lab.user_keys[u1]),
            sock=sock,
            role="目标主机",
        )


def test_unknown_and_changed_host_keys_are_refused(lab, repo, tmp_path):  # type: ignore[no-untyped-def]
    root, cfg, audit = repo
    (root / "known_hosts").write_text("")
    unknown = cgcloud("bastion", "plan", str(root), cfg=cfg, audit=audit)
    assert unknown.returncode == 1 and "未在" in unknown.stdout and "登记" in unknown.stdout
    other = tmp_path / "other"
    sshlab.keygen(other)
    kind, blob = Path(str(other) + ".pub").read_text().split()[:2]
    (root / "known_hosts").write_text(f"[127.0.0.1]:{lab.bastion.port} {kind} {blob}\n")
    changed = cgcloud("bastion", "plan", str(root), cfg=cfg, audit=audit)
    assert changed.returncode == 1 and "不符" in changed.stdout
    assert not any(lab.keys_dir.iterdir())  # nothing was written
    assert "Traceback" not in unknown.stderr + changed.stderr


def test_removed_row_or_form_removes_access(lab, repo):  # type: ignore[no-untyped-def]
    root, cfg, audit = repo
    u1, u2 = lab.users
    assert cgcloud("bastion", "apply", str(root), "--yes", cfg=cfg, audit=audit).returncode == 0
    assert (lab.keys_dir / u2).exists()
    write_forms(root, lab, second_row=False)  # WL-LAB-2 no longer has the SSH row
    done = cgcloud("bastion", "apply", str(root), "--yes", cfg=cfg, audit=audit)
    assert done.returncode == 0, done.stderr
    assert f"- {u2}" in done.stdout and not (lab.keys_dir / u2).exists()
    with pytest.raises(transport.SshError, match="拒绝了"):
        login_via_bastion(lab, u2, "A", root / "known_hosts")
    assert login_via_bastion(lab, u1, "A", root / "known_hosts") == "ok"
    assert audit_entries(audit)[-1]["action"] == "bastion-delete"
    # put it back, then remove the whole ProjectApplication
    write_forms(root, lab)
    assert cgcloud("bastion", "apply", str(root), "--yes", cfg=cfg, audit=audit).returncode == 0
    assert (lab.keys_dir / u2).exists()
    write_forms(root, lab, second_user=False)
    assert cgcloud("bastion", "apply", str(root), "--yes", cfg=cfg, audit=audit).returncode == 0
    assert not (lab.keys_dir / u2).exists()


def test_hand_added_line_is_drift_and_removed(lab, repo, tmp_path):  # type: ignore[no-untyped-def]
    root, cfg, audit = repo
    u1 = lab.users[0]
    assert cgcloud("bastion", "apply", str(root), "--yes", cfg=cfg, audit=audit).returncode == 0
    good = (lab.keys_dir / u1).read_text()
    intruder = tmp_path / "intruder"
    line = sshlab.keygen(intruder, "intruder")
    with (lab.keys_dir / u1).open("a") as fh:
        fh.write(f'permitopen="{lab.targets["B"].host}:22" {line}\n')
    plan = cgcloud("bastion", "plan", str(root), "--detailed-exitcode", cfg=cfg, audit=audit)
    assert plan.returncode == 2 and "漂移" in plan.stdout and "intruder" in plan.stdout
    assert cgcloud("bastion", "apply", str(root), "--yes", cfg=cfg, audit=audit).returncode == 0
    assert (lab.keys_dir / u1).read_text() == good
    e = audit_entries(audit)[-1]
    assert e["action"] == "bastion-update" and "intruder" in e["drift"][0]


def test_file_without_marker_is_not_touched(lab, repo):  # type: ignore[no-untyped-def]
    root, cfg, audit = repo
    u1 = lab.users[0]
    (lab.keys_dir / u1).write_text("# the administrator's own file\n")
    done = cgcloud("bastion", "apply", str(root), "--yes", cfg=cfg, audit=audit)
    assert done.returncode == 1 and "不是 cgcloud 管理的" in done.stdout
    assert (lab.keys_dir / u1).read_text() == "# the administrator's own file\n"


def test_bastion_down_is_a_clear_error_in_bounded_time(lab, repo):  # type: ignore[no-untyped-def]
    root, _cfg, audit = repo
    dead = write_config(root.parent / "dead.yaml", lab, port=sshlab.free_port())
    started = time.monotonic()
    run = cgcloud("bastion", "plan", str(root), "--timeout", "5", cfg=dead, audit=audit)
    assert time.monotonic() - started < 60
    assert run.returncode == 1 and "无法连接" in run.stdout and "Traceback" not in run.stderr


def test_tunnel_forwards_and_audits(lab, repo):  # type: ignore[no-untyped-def]
    root, cfg, audit = repo
    u1 = lab.users[0]
    assert cgcloud("bastion", "apply", str(root), "--yes", cfg=cfg, audit=audit).returncode == 0
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CGCLOUD_BASTIONS": str(cfg),
        "CGCLOUD_AUDIT_LOG": str(audit),
    }
    port = sshlab.free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cgcloud",
            "tunnel",
            lab.targets["A"].host,
            "22",
            "--as",
            u1,
            "-i",
            str(lab.user_keys[u1]),
            "--policies",
            str(root),
            "--local",
            f"127.0.0.1:{port}",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(ROOT),
    )
    try:
        sshlab.wait_listening("127.0.0.1", port, timeout=60)  # reads the target's SSH banner
        with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
            s.sendall(b"SSH-2.0-cgcloud-test\r\n")
            assert s.recv(64).startswith(b"SSH-2.0-OpenSSH")
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    e = audit_entries(audit)[-1]
    assert (e["action"], e["login"], e["target"]) == ("tunnel", u1, f"{lab.targets['A'].host}:22")
    assert e["connections"] == 2 and e["bytes_sent"] >= len("SSH-2.0-cgcloud-test\r\n")


def test_enforce_pass_removes_access_when_the_window_ends(lab, repo, monkeypatch):  # type: ignore[no-untyped-def]
    from cgcloud.cli_bastion import enforce_pass

    root, cfg, audit = repo
    u1, u2 = lab.users
    monkeypatch.setenv("CGCLOUD_BASTIONS", str(cfg))
    now = clock.now_local()
    assert enforce_pass([root], now, audit) is True  # the windows are open: access written
    assert (lab.keys_dir / u1).exists() and (lab.keys_dir / u2).exists()
    # WL-LAB-1's window ends tomorrow, WL-LAB-2's the day after: two days on, only u2 is left
    assert enforce_pass([root], now + timedelta(days=2), audit) is True
    assert not (lab.keys_dir / u1).exists() and (lab.keys_dir / u2).exists()
    assert enforce_pass([root], now + timedelta(days=3), audit) is True
    assert not any(lab.keys_dir.iterdir())
    assert [e["action"] for e in audit_entries(audit)][-2:] == ["bastion-delete", "bastion-delete"]


def test_cgcloud_ssh_interactive_shell_on_a_terminal(lab, repo):  # type: ignore[no-untyped-def]
    import pty
    import select as sel

    root, cfg, audit = repo
    u1 = lab.users[0]
    assert cgcloud("bastion", "apply", str(root), "--yes", cfg=cfg, audit=audit).returncode == 0
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CGCLOUD_BASTIONS": str(cfg),
        "CGCLOUD_AUDIT_LOG": str(audit),
        "TERM": "dumb",
    }
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cgcloud",
            "ssh",
            "--as",
            u1,
            "-i",
            str(lab.user_keys[u1]),
            "--policies",
            str(root),
            lab.targets["A"].host,
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=str(ROOT),
        start_new_session=True,
    )
    os.close(slave)
    seen = b""
    try:
        os.write(master, b"echo marker-$((40+2)); exit 5\n")
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = sel.select([master], [], [], 1.0)
            if ready:
                try:
                    seen += os.read(master, 4096)
                except OSError:
                    break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        os.close(master)
    assert b"marker-42" in seen and proc.returncode == 1 and "退出码 5".encode() in seen, seen[
        -500:
    ]
    e = audit_entries(audit)[-1]
    assert (e["action"], e["command"], e["exit_status"]) == ("ssh", None, 5)
    assert e["bytes_sent"] > 0 and e["bytes_received"] > 0


def test_decommission_commands_run_through_the_bastion_and_stop_on_failure(lab, repo):  # type: ignore[no-untyped-def]
    from cgcloud.bastion import commands
    from cgcloud.bastion.audit import BastionAudit
    from cgcloud.validate import validate

    root, cfg, audit_path = repo
    u1 = lab.users[0]
    assert (
        cgcloud("bastion", "apply", str(root), "--yes", cfg=cfg, audit=audit_path).returncode == 0
    )
    now = clock.now_local()
    state = access.compute(validate([root], now).repo, now)
    conf = config.load(cfg)
    conf.identity = str(lab.user_keys[u1])
    audit = BastionAudit(audit_path)
    a, b = lab.targets["A"].host, lab.targets["B"].host
    marker = Path(f"/tmp/cgcloud-copied-{u1}-{os.getpid()}")  # writable by the test user
    marker.unlink(missing_ok=True)
    ok = commands.run_before_poweroff(
        state,
        "GT-LAB-1",
        {"login": u1, "shutdown": "echo stopping", "data_copy": f"echo data > {marker}"},
        [a],
        conf,
        root / "known_hosts",
        audit,
    )
    assert ok is None and marker.read_text() == "data\n"
    steps = [(e["step"], e["result"], e["exit_status"]) for e in audit_entries(audit_path)[-2:]]
    assert steps == [("shutdown", "done", 0), ("data_copy", "done", 0)]
    failed = commands.run_before_poweroff(
        state,
        "GT-LAB-1",
        {"login": u1, "shutdown": "echo disk full >&2; exit 7", "data_copy": "echo never"},
        [a],
        conf,
        root / "known_hosts",
        audit,
    )
    assert failed is not None and "系统关闭命令失败（退出码 7）" in failed and "disk full" in failed
    assert [e.get("step") for e in audit_entries(audit_path)[-1:]] == ["shutdown"]  # stopped there
    # a command that hangs is abandoned at its limit (the form says minutes; 3 s here)
    started = time.monotonic()
    hung = commands.run_before_poweroff(
        state,
        "GT-LAB-1",
        {"login": u1, "shutdown": "sleep 60", "timeout_minutes": 0.05},
        [a],
        conf,
        root / "known_hosts",
        audit,
    )
    assert hung is not None and "未结束，已中止" in hung and time.monotonic() - started < 30
    assert audit_entries(audit_path)[-1]["result"] == "timeout"
    # a host without an approved row: refused before anything runs on any host
    marker.unlink()
    before = len(audit_entries(audit_path))
    refused = commands.run_before_poweroff(
        state,
        "GT-LAB-1",
        {"login": u1, "data_copy": f"echo data > {marker}"},
        [a, b],
        conf,
        root / "known_hosts",
        audit,
    )
    assert refused is not None and b in refused and "未执行任何命令" in refused
    assert not marker.exists()
    marker.unlink(missing_ok=True)
    assert [e["result"] for e in audit_entries(audit_path)[before:]] == ["refused"]


def test_login_without_a_system_account_is_a_warning(lab, repo):  # type: ignore[no-untyped-def]
    root, cfg, audit = repo
    pa2 = root / "pa2.yaml"
    pa2.write_text(pa2.read_text().replace(f"login: {lab.users[1]}", "login: cgbnosuchuser"))
    plan = cgcloud("bastion", "plan", str(root), cfg=cfg, audit=audit)
    assert plan.returncode == 0, plan.stderr
    assert "+ cgbnosuchuser" in plan.stdout and "堡垒机上没有系统账号 cgbnosuchuser" in plan.stdout
    assert f"系统账号 {lab.users[0]}" not in plan.stdout
