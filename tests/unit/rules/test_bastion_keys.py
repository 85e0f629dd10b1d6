"""CG311–CG315: bastion accounts' logins and SSH keys in ProjectApplications (第十九条)."""

from __future__ import annotations

import base64
from functools import cache

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from cgcloud.bastion import keys


def _openssh(private: object, comment: str = "") -> str:
    text = (
        private.public_key()
        .public_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        .decode()
    )
    return f"{text} {comment}".strip()


@cache
def key(kind: str, n: int = 0) -> str:
    """A fresh public key of ``kind``; ``n`` tells apart several keys of one kind."""
    if kind == "ed25519":
        return _openssh(ed25519.Ed25519PrivateKey.generate(), f"user{n}@laptop")
    if kind.startswith("rsa"):
        return _openssh(rsa.generate_private_key(65537, int(kind[3:])))
    if kind == "ecdsa":
        return _openssh(ec.generate_private_key(ec.SECP256R1()))
    if kind == "dsa":  # refused by its type, before the blob is read
        blob = base64.b64encode(b"\x00\x00\x00\x07ssh-dss" + bytes(40)).decode()
        return f"ssh-dss {blob}"
    raise AssertionError(kind)


def project(accounts: list[str], pid: str = "KT-2027-0003") -> str:
    body = "".join(f"    - {a}\n" for a in accounts)
    return (
        "apiVersion: cgcloud/v1\n"
        "kind: ProjectApplication\n"
        f"metadata: {{id: {pid}, project: 智慧城管综合平台二期}}\n"
        "spec:\n"
        "  forms: [WL-2026-0031]\n"
        "  accounts:\n" + body + "  signoffs:\n"
        "    integrator: {by: 某某集成公司, date: 2026-11-23}\n"
        "    supervisor: {by: 某某监理公司, date: 2026-11-23}\n"
        "    project_manager: {by: 某某项目管理公司, date: 2026-11-24}\n"
        "    cloud_provider: {by: 武汉云, date: 2026-11-24}\n"
    )


def account(name: str, login: str | None, ssh_key: str | None, kind: str = "bastion") -> str:
    parts = [f"name: {name}", f"type: {kind}"]
    if login is not None:
        parts.append(f"login: {login}")
    if ssh_key is not None:
        parts.append(f'ssh_key: "{ssh_key}"')
    return "{" + ", ".join(parts) + "}"


ROW = "{from: 政务外网区, source: 172.21.0.10, to: 政务外网区, target: 172.21.4.21, port: TCP22}"


@pytest.fixture
def repo(policy_repo):  # type: ignore[no-untyped-def]
    policy_repo.policy([ROW])
    return policy_repo


BASTION_RULES = ("CG311", "CG312", "CG313", "CG314", "CG315", "CG316")


def bastion_findings(repo):  # type: ignore[no-untyped-def]
    return [f for f in repo.validate() if f.rule in BASTION_RULES or f.rule.startswith("CG00")]


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "rsa3072"])
def test_good_keys_pass(repo, kind):  # type: ignore[no-untyped-def]
    repo.write("project.yaml", project([account("李四", "lisi", key(kind))]))
    assert bastion_findings(repo) == []


@pytest.mark.parametrize(
    ("text", "rule", "words"),
    [
        (lambda: key("rsa2048"), "CG312", "2048 位"),
        (lambda: key("dsa"), "CG311", "DSA"),
        (lambda: key("ed25519")[:60], "CG311", "不完整"),
        (lambda: 'command=\\"/bin/sh\\" ' + key("ed25519"), "CG311", "选项"),
        (lambda: key("ed25519") + "\\nssh-ed25519 AAAA", "CG311", "一行"),
        (lambda: "ssh-rsa " + key("ed25519").split()[1], "CG311", "不符"),
    ],
    ids=["rsa2048", "dsa", "truncated", "options", "two-lines", "type-mismatch"],
)
def test_bad_keys_are_reported_at_the_key(repo, text, rule, words):  # type: ignore[no-untyped-def]
    repo.write("project.yaml", project([account("李四", "lisi", text())]))
    found = bastion_findings(repo)
    assert [(f.rule, f.line) for f in found] == [(rule, repo.line("project.yaml", "李四"))]
    assert words in found[0].message and found[0].file.endswith("project.yaml")


def test_shared_key_between_two_people(repo):  # type: ignore[no-untyped-def]
    k = key("ed25519", 1)
    repo.write("project.yaml", project([account("李四", "lisi", k), account("周九", "zhoujiu", k)]))
    found = bastion_findings(repo)
    assert [(f.rule, f.line) for f in found] == [("CG313", repo.line("project.yaml", "周九"))]
    assert "李四" in found[0].message and keys.parse(k).fingerprint in found[0].message


def test_same_person_may_repeat_key_across_projects(repo):  # type: ignore[no-untyped-def]
    k = key("ed25519", 2)
    repo.write("project.yaml", project([account("李四", "lisi", k)]))
    repo.write("project2.yaml", project([account("李四", "lisi", k)], pid="KT-2027-0009"))
    assert bastion_findings(repo) == []


def test_login_given_to_two_people_and_two_logins_for_one(repo):  # type: ignore[no-untyped-def]
    repo.write(
        "project.yaml",
        project(
            [
                account("李四", "lisi", key("ed25519", 3)),
                account("周九", "lisi", key("ed25519", 4)),
                account("李四", "lisi2", key("ed25519", 3)),
            ]
        ),
    )
    found = bastion_findings(repo)
    assert [f.rule for f in found] == ["CG314", "CG314"]
    assert [f.line for f in found] == [
        repo.line("project.yaml", "周九"),
        repo.line("project.yaml", "lisi2"),
    ]


def test_account_without_key_is_info(repo):  # type: ignore[no-untyped-def]
    repo.write("project.yaml", project([account("周九", None, None)]))
    found = bastion_findings(repo)
    assert [(f.rule, f.severity.value) for f in found] == [("CG315", "info")]
    assert "login、ssh_key" in found[0].message


def test_sslvpn_account_may_not_carry_a_key(repo):  # type: ignore[no-untyped-def]
    repo.write("project.yaml", project([account("李四", "lisi", key("ed25519"), kind="sslvpn")]))
    found = [f for f in repo.validate() if f.file.endswith("project.yaml")]
    assert found and all(f.severity.value == "error" for f in found)
    assert found[0].line == repo.line("project.yaml", "李四")


def test_login_must_be_a_unix_name(repo):  # type: ignore[no-untyped-def]
    repo.write("project.yaml", project([account("李四", "李四", key("ed25519"))]))
    found = [f for f in repo.validate() if f.file.endswith("project.yaml")]
    assert found and found[0].severity.value == "error" and "login" in found[0].message


RESOURCES = """
apiVersion: cgcloud/v1
kind: ResourceApplication
metadata: {id: ZY-2027-0001, system: 智慧城管综合平台, department: 市政设施处}
spec:
  type: new
  year: 2027
  contact: {name: 张三, phone: "027-85551234"}
  reason: 测试
  operators: [{name: 李四, phone: "13800000000"}]
  resources:
    - {type: server, vcpu: 2, memory_gb: 4, system_disk_gb: 20, count: 1}
"""


def test_bastion_account_should_be_an_operator_of_its_system(repo):  # type: ignore[no-untyped-def]
    repo.write("resources.yaml", RESOURCES)
    repo.write(
        "project.yaml",
        project(
            [
                account("李四", "lisi", key("ed25519", 5)),
                account("周九", "zhoujiu", key("ed25519", 6)),
            ]
        ),
    )
    found = [f for f in repo.validate() if f.rule == "CG316"]
    assert [(f.severity.value, f.line) for f in found] == [
        ("warning", repo.line("project.yaml", "周九"))
    ]
    assert "ZY-2027-0001" in found[0].message and "智慧城管综合平台" in found[0].message
