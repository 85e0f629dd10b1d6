"""Which paths under a policy root are policy files, and what became of each one.

Why a walk of our own instead of ``Path.rglob``: rglob silently drops what it cannot
read (a folder without permission, a dangling or looping symlink, a FIFO) and follows
a symlink wherever it points. A CI gate must never read less than what is there
without saying so, and must not read ``/etc/passwd`` because a symlink points at it.

Every ``*.yaml`` / ``*.yml`` path under a root is either handed to the loader or
reported as a finding naming the path (docs/validation.md, "Symlinks and special
files"):

* a symlink is followed when its target stays inside the repository (the nearest
  ancestor of the policy root holding ``.git``, else the policy root itself) and
  refused (CG009) when it points outside;
* a dangling symlink and a symlink loop are CG009; a folder reached twice (a link to
  an ancestor or to a folder already walked) is walked once and reported;
* a FIFO, socket or device file is CG009 and never opened for reading (it would block);
* a folder or file that cannot be read or searched is CG002.

Names starting with ``.`` (``.git``, editor files) are skipped, as before.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cgcloud.findings import Finding, Severity
from cgcloud.i18n import _

POLICY_SUFFIXES = (".yaml", ".yml")


class UsageError(Exception):
    """A path that does not exist (exit code: usage error)."""


@dataclass(slots=True)
class Discovery:
    """The files to read (path, display name) and what could not be read, as findings."""

    files: list[tuple[Path, str]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    reported: list[str] = field(default_factory=list)  # policy paths and folders not read


def discover(paths: Iterable[str | Path]) -> Discovery:
    """Expand paths to policy files (recursively for folders), sorted, with display names."""
    out = Discovery()
    cwd = working_folder()
    for given in paths:
        p = Path(given)
        if not os.path.lexists(p):
            raise UsageError(_("路径不存在: {path}").format(path=given))
        if p.is_dir():
            _Walk(p, cwd, out).run()
        elif p.is_symlink() and not p.exists():
            raise UsageError(_("路径不存在（悬空的符号链接）: {path}").format(path=given))
        else:
            # a file named on the command line is read whatever its name or where it points:
            # the user chose it; reading it (loader) refuses anything but a regular file
            out.files.append((p, display(p, cwd)))
    return out


def working_folder() -> str:
    """The working folder, or ``/`` when it was deleted under us (names are then shown
    as given or absolute; a relative path that no longer resolves does not exist)."""
    try:
        return os.getcwd()
    except OSError:
        return os.sep


def display(p: Path | str, cwd: str) -> str:
    """The path as the user sees it: relative to the working folder when inside it.
    Symlinks are not resolved (a finding names the link, not its target)."""
    absolute = os.path.join(cwd, p)  # not abspath: that asks for the working folder again
    absolute = os.path.normpath(absolute)
    if cwd != os.sep and (absolute == cwd or absolute.startswith(cwd + os.sep)):
        return printable(Path(os.path.relpath(absolute, cwd)).as_posix())
    return printable(Path(p).as_posix())


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def printable(name: str) -> str:
    """A file name that every output can carry: bytes that are not UTF-8 (kept by Python
    as lone surrogates, which no encoder accepts) become U+FFFD, and control characters
    (a newline would split a ``file:line:col`` line) are written as ``\\xNN``."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def repository_root(real_root: str) -> str:
    """The nearest ancestor (or the folder itself) holding ``.git``; else the folder."""
    here = real_root
    while True:
        if os.path.lexists(os.path.join(here, ".git")):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return real_root
        here = parent


def _inside(real: str, boundary: str) -> bool:
    return real == boundary or real.startswith(boundary.rstrip(os.sep) + os.sep)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


class _Walk:
    """One policy root, walked depth-first with ``os.scandir`` (one ``stat`` per entry)."""

    def __init__(self, root: Path, cwd: str, out: Discovery) -> None:
        self.root, self.cwd, self.out = root, cwd, out
        self.real_root = os.path.realpath(root)
        self.boundary = repository_root(self.real_root)
        self.dirs: dict[tuple[int, int], str] = {}  # folder identity → the path walked
        self.files: dict[tuple[int, int], str] = {}  # file identity → the path read
        self.found: list[tuple[Path, str]] = []

    def report(
        self,
        rule: str,
        path: str,
        message: str,
        hint: str = "",
        severity: Severity = Severity.ERROR,
        unread: bool = True,
    ) -> None:
        shown = display(path, self.cwd)
        self.out.findings.append(Finding(rule, severity, message, shown, 1, 1, hint))
        if unread:
            self.out.reported.append(shown)

    def run(self) -> None:
        try:
            st = os.stat(self.root)
        except OSError as exc:
            self.report(
                "CG002", str(self.root), _("无法读取目录: {reason}").format(reason=_reason(exc))
            )
            return
        self.dirs[(st.st_dev, st.st_ino)] = str(self.root)
        stack = [str(self.root)]
        while stack:
            folder = stack.pop()
            for sub in reversed(self.folder(folder)):
                stack.append(sub)
        self.found.sort(key=lambda item: item[0])
        self.out.files.extend(self.found)

    def folder(self, folder: str) -> list[str]:
        """Handle one folder's entries; return its sub-folders to walk (sorted)."""
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            self.report(
                "CG002",
                folder,
                _("无法读取目录: {reason}").format(reason=_reason(exc)),
                _("请检查该目录的权限（需要读取和进入权限 r-x）"),
            )
            return []
        subs: list[str] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            sub = self.entry(entry)
            if sub is not None:
                subs.append(sub)
        return subs

    def entry(self, entry: os.DirEntry[str]) -> str | None:
        path = entry.path
        policy = entry.name.lower().endswith(POLICY_SUFFIXES)
        try:
            link = entry.is_symlink()
        except OSError:
            link = False
        try:
            st = os.stat(path) if link else entry.stat(follow_symlinks=False)
        except OSError as exc:
            self.unreachable(entry, path, policy, link, exc)
            return None
        if link:
            real = os.path.realpath(path)
            if not _inside(real, self.boundary):
                if policy or stat.S_ISDIR(st.st_mode):
                    self.report(
                        "CG009",
                        path,
                        _("符号链接指向仓库之外（{target}），未读取").format(target=real),
                        _("策略文件须在仓库内；请把文件复制进仓库，而不是链接到仓库外"),
                    )
                return None
        if stat.S_ISDIR(st.st_mode):
            key = (st.st_dev, st.st_ino)
            first = self.dirs.get(key)
            if first is not None:
                self.report(
                    "CG009",
                    path,
                    _("符号链接指向已读取的目录 {first}（循环或重复），不再重复读取").format(
                        first=display(first, self.cwd)
                    ),
                    _("删除该符号链接"),
                    Severity.WARNING,
                    unread=False,
                )
                return None
            self.dirs[key] = path
            return path
        if not policy:
            return None
        if not stat.S_ISREG(st.st_mode):
            self.report(
                "CG009",
                path,
                _("不是普通文件（{what}），未读取").format(what=_kind(st.st_mode)),
                _("请从策略仓库中移除它"),
            )
            return None
        key = (st.st_dev, st.st_ino)
        first = self.files.get(key)
        if first is not None:
            self.report(
                "CG009",
                path,
                _("与 {first} 是同一个文件（符号链接或硬链接），只读取一次").format(
                    first=display(first, self.cwd)
                ),
                _("删除重复的链接"),
                Severity.WARNING,
                unread=False,
            )
            return None
        self.files[key] = path
        self.found.append((Path(path), display(path, self.cwd)))
        return None

    def unreachable(
        self, entry: os.DirEntry[str], path: str, policy: bool, link: bool, exc: OSError
    ) -> None:
        """A path whose ``stat`` failed: report it unless it is plainly not a policy path."""
        if link and exc.errno == errno.ELOOP:
            self.report(
                "CG009",
                path,
                _("符号链接循环，未读取"),
                _("删除或修正该符号链接"),
                Severity.ERROR if policy else Severity.WARNING,
                unread=policy,
            )
            return
        if link and exc.errno in (errno.ENOENT, errno.ENOTDIR):
            target = os.readlink(path) if os.path.islink(path) else "?"
            self.report(
                "CG009",
                path,
                _("悬空的符号链接（指向不存在的 {target}），未读取").format(target=target),
                _("删除或修正该符号链接"),
                Severity.ERROR if policy else Severity.WARNING,
                unread=policy,
            )
            return
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            is_dir = False
        if policy or is_dir or link:
            self.report(
                "CG002",
                path,
                _("无法读取: {reason}").format(reason=_reason(exc)),
                _("请检查该路径及其上级目录的权限（目录需要 r-x，文件需要 r）"),
            )


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return _("命名管道 FIFO")
    if stat.S_ISSOCK(mode):
        return _("套接字")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return _("设备文件")
    return _("特殊文件")
