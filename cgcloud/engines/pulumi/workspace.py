"""Where and how the Pulumi engine runs Pulumi: the CLI, the backend, the stack (docs/pulumi.md).

Why a module of its own: everything that depends on the machine (is the Pulumi CLI
installed, which backend, where the state lives, the passphrase of a local backend)
is decided here, once, before anything is read or changed — so a missing CLI is a
clear message naming what to install, never a ``FileNotFoundError`` from deep
inside the Automation API (which shells out to the ``pulumi`` command).

Defaults: the stack is named after the cloud; the state is a local ``file://``
backend under cgcloud's state directory (no Pulumi Cloud account needed);
``--backend URL`` or Pulumi's own ``PULUMI_BACKEND_URL`` choose another. The
workspace (the project settings Automation API writes and the stack's config) is a
directory of cgcloud's own, never the policy repository's ``Pulumi.yaml``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from cgcloud.engines.base import EngineUnavailable
from cgcloud.i18n import _
from cgcloud.statedir import state_path

PROJECT = "cgcloud"  # the project name of Pulumi.yaml: the resources' URNs carry it
PASSPHRASE_VARS = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")


def home() -> Path:
    """$CGCLOUD_PULUMI_DIR, else ~/.local/state/cgcloud/pulumi: workspace and local state."""
    return state_path("CGCLOUD_PULUMI_DIR", "pulumi")


@dataclass(frozen=True, slots=True)
class Settings:
    """Which Pulumi, which stack, which backend: decided before anything runs."""

    stack: str
    backend: str
    work_dir: Path
    command: str  # the pulumi executable found on PATH

    @classmethod
    def resolve(
        cls,
        stack: str,
        backend: str | None = None,
        environ: Mapping[str, str] | None = None,
        which: Callable[[str], str | None] = shutil.which,
    ) -> Settings:
        """Raise ``EngineUnavailable`` (exit 1, nothing changed) when Pulumi cannot run here."""
        env = os.environ if environ is None else environ
        missing = [m for m in ("pulumi", "pulumi_openstack") if importlib.util.find_spec(m) is None]
        if missing:
            raise EngineUnavailable(
                _(
                    "缺少 Python 包 {missing}：--engine pulumi 需要 cgcloud 的 pulumi 附加依赖，"
                    "请运行 pip install 'cgcloud[pulumi]'。未做任何变更。"
                ).format(missing=", ".join(missing))
            )
        command = which("pulumi")
        if command is None:
            raise EngineUnavailable(
                _(
                    "未找到 Pulumi 命令行工具 pulumi：--engine pulumi 通过 Pulumi Automation API "
                    "运行，它调用 Pulumi CLI。请先安装 Pulumi CLI（见 "
                    "https://www.pulumi.com/docs/install/ ，安装后把 ~/.pulumi/bin 加入 PATH），"
                    "或改用 --engine openstack。未做任何变更。"
                )
            )
        url = backend or env.get("PULUMI_BACKEND_URL") or (home() / "state").as_uri()
        if url.startswith("file://") and not any(env.get(v) is not None for v in PASSPHRASE_VARS):
            raise EngineUnavailable(
                _(
                    "Pulumi 本地后端 {url} 需要加密口令：请设置 PULUMI_CONFIG_PASSPHRASE 或 "
                    "PULUMI_CONFIG_PASSPHRASE_FILE（与直接运行 pulumi 时相同）。未做任何变更。"
                ).format(url=url)
            )
        if not stack.strip():
            raise EngineUnavailable(_("Pulumi 栈名为空：请用 --stack NAME 指定"))
        return cls(stack=stack, backend=url, work_dir=home() / "project", command=command)

    def env(self) -> dict[str, str]:
        """Extra variables for every pulumi command: the backend; no update check."""
        return {"PULUMI_BACKEND_URL": self.backend, "PULUMI_SKIP_UPDATE_CHECK": "true"}


def open_stack(settings: Settings, cloud: str, program: Callable[[], None]) -> Any:
    """The stack (created on first use) with ``program`` as its inline program and the
    provider pointed at ``cloud`` (``openstack:cloud``, a clouds.yaml entry)."""
    from pulumi import automation as auto

    if settings.backend.startswith("file://"):  # Pulumi takes file://~/… and file:///abs
        local = Path(unquote(settings.backend.removeprefix("file://"))).expanduser()
        local.mkdir(parents=True, exist_ok=True)
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    opts = auto.LocalWorkspaceOptions(
        work_dir=str(settings.work_dir),
        env_vars=settings.env(),
        project_settings=auto.ProjectSettings(
            name=PROJECT,
            runtime="python",
            backend=auto.ProjectBackend(url=settings.backend),
        ),
    )
    stack = auto.create_or_select_stack(
        stack_name=settings.stack, project_name=PROJECT, program=program, opts=opts
    )
    stack.set_config("openstack:cloud", auto.ConfigValue(value=cloud))
    return stack
