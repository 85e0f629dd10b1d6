"""`cgcloud enforce` against the real devcloud: a ShutdownNotice whose shutdown/data-copy
commands (第十五条) cannot run through the bastion powers nothing off (issue 15).

The success path (commands really run on a host through a real bastion sshd) is in
test_bastion_ssh.py; the devcloud's servers have no sshd, so here the commands fail
on purpose — once because enforce runs without --bastions, once because the forms
give the notice's login no access — and the test checks Nova: the host stays ACTIVE.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_enforce_lifecycle import OLD, Site

pytestmark = pytest.mark.devcloud


@pytest.fixture
def site(tmp_path: Path, devcloud: Any) -> Iterator[Site]:
    s = Site(tmp_path, devcloud.clouds_yaml)
    yield s
    s.cleanup()


def test_failed_commands_before_poweroff_power_nothing_off(site: Site, tmp_path: Path) -> None:
    site.edit(
        f"{OLD}/shutdown-notice.yaml",
        "  operator:",
        "  commands: {login: lisi, shutdown: sudo systemctl stop app, data_copy: sudo rsync -a /data/ backup:/x/}\n"
        "  operator:",
    )
    site.apply("2026-12-10T10:00")
    sid = site.server(site.old, "172.20.4.21", "cg-4c8g100d")
    site.wait(lambda: (site.get_server(sid) or {}).get("status") == "ACTIVE")

    r = site.enforce("2026-12-15T10:00")
    assert r.exit_code == 1, r.output
    assert "--bastions" in r.output and "主机均未关机" in r.output
    assert site.get_server(sid)["status"] == "ACTIVE"  # type: ignore[index]

    cfg = tmp_path / "bastions.yaml"
    cfg.write_text("bastions: []\n", encoding="utf-8")
    site.env["CGCLOUD_BASTIONS"] = str(cfg)
    r = site.enforce("2026-12-15T10:00", "--bastions")
    assert r.exit_code == 1, r.output
    assert "关机前命令不能在 172.20.4.21 执行" in r.output and "lisi" in r.output
    assert site.get_server(sid)["status"] == "ACTIVE"  # type: ignore[index]
    assert "cgcloud:poweroff" not in site.get_server(sid)["metadata"]  # type: ignore[index]
    entries = [json.loads(x) for x in site.audit.read_text(encoding="utf-8").splitlines()]
    assert any(
        e.get("action") == "decommission-command" and e["result"] == "refused" for e in entries
    )
    assert not any(e.get("action") == "poweroff" for e in entries)
