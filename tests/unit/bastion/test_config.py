"""bastions.yaml: the connection settings outside the policy repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from cgcloud.bastion import config


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bastions.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_reads_endpoints_and_defaults(tmp_path: Path) -> None:
    cfg = config.load(
        write(
            tmp_path,
            """
bastions:
  - {address: 172.21.0.10, endpoint: "127.0.0.1:2201", user: root, identity: ~/.ssh/mgmt}
  - {address: 172.20.0.10}
login: lisi
""",
        )
    )
    a = cfg.endpoint("172.21.0.10")
    assert (a.host, a.port, a.user, a.keys_dir) == (
        "127.0.0.1",
        2201,
        "root",
        config.DEFAULT_KEYS_DIR,
    )
    assert a.identity is not None and not a.identity.startswith("~")
    b = cfg.endpoint("172.20.0.10")
    assert (b.host, b.port, b.user) == ("172.20.0.10", 22, None)
    assert cfg.login == "lisi"
    with pytest.raises(config.ConfigError, match="172.22.0.10"):
        cfg.endpoint("172.22.0.10")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("bastions:\n  - {address: 1.2.3.4, password: x}\n", "不支持密码"),
        ("bastions:\n  - {address: 1.2.3.4, endpont: a:1}\n", "未知的配置项"),
        ("bastions:\n  - {address: 1.2.3.4, endpoint: nohost}\n", "主机:端口"),
        ("bastions: [\n", ":2:"),
        ("login: 李四\n", "登录名"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(config.ConfigError, match=words):
        config.load(write(tmp_path, text))


def test_missing_default_file_is_empty_but_explicit_file_must_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CGCLOUD_BASTIONS", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config.load().bastions == {}
    with pytest.raises(config.ConfigError, match="不存在"):
        config.load(tmp_path / "nope.yaml")
