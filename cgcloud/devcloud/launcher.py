"""Start, stop and inspect the devcloud: a real OpenStack control plane on 127.0.0.1.

Order (full profile): PostgreSQL, Keystone, Neutron, RabbitMQ, Placement,
Glance, Nova (conductor, scheduler, compute, API), Cinder (scheduler, API,
volume), then post-setup (cell mapping, flavors, image) and the site layout.
Every process is started in its own session and recorded in run/<name>.pid;
`down` stops exactly those pids and their children.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cgcloud.devcloud import install, procs
from cgcloud.devcloud.config import (
    CATALOG,
    CLOUD_NAME,
    EPMD_PORT,
    HOST,
    PG_BIN,
    PG_DATABASES,
    PROFILES,
    RABBIT_CTL,
    RABBIT_DIST_PORT,
    RABBIT_SERVER,
    REGION,
    SERVICE_BY_NAME,
    SERVICES,
    Layout,
    Profile,
    Service,
    db_url,
    render_configs,
    render_wsgi_modules,
    resolve_dir,
    service_command,
    service_env,
    services_for,
)
from cgcloud.devcloud.procs import DevcloudError

Progress = Callable[[str], None]


def _print(msg: str) -> None:
    print(msg, flush=True)


class _Clock:
    """Progress lines prefixed with elapsed seconds."""

    def __init__(self, progress: Progress | None):
        self.t0 = time.monotonic()
        self.progress = progress or _print

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def __call__(self, msg: str) -> None:
        self.progress(f"[{self.elapsed():6.1f}s] {msg}")


@dataclass
class UpResult:
    """What `up` did, for callers (CLI, test fixture, benchmark)."""

    profile: str
    dir: str
    clouds_yaml: str
    already_up: bool
    installed: bool
    seconds: float
    install_seconds: float


@dataclass
class ServiceStatus:
    """One row of `status`."""

    name: str
    up: bool
    port: int | None
    pid: int | None
    rss_bytes: int
    pss_bytes: int


# ---------------------------------------------------------------- state


def _layout(dir: Path | str | None) -> Layout:
    return Layout(resolve_dir(dir))


def _read_state(layout: Layout) -> dict[str, Any]:
    try:
        data = json.loads(layout.state_file.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_state(layout: Layout, **changes: Any) -> None:
    state = _read_state(layout)
    state.update(changes)
    layout.run.mkdir(parents=True, exist_ok=True)
    layout.state_file.write_text(json.dumps(state, indent=1))


def _password(layout: Layout) -> str:
    """The admin/service password: random per devcloud dir, kept in a 0600 file."""
    f = layout.password_file
    if f.is_file():
        return f.read_text().strip()
    layout.root.mkdir(parents=True, exist_ok=True)
    pw = secrets.token_urlsafe(18)
    f.touch(mode=0o600)
    f.write_text(pw + "\n")
    return pw


def service_logs(layout: Layout, name: str) -> list[Path]:
    """The log files of a service: its own log and its stdout/stderr capture."""
    out = [layout.service_log(name), layout.stdout_log(name)]
    if name == "rabbitmq":
        out += sorted((layout.log / "rabbitmq").glob("*.log"))
    if name == "postgres":
        out = [layout.stdout_log(name)]
    return [p for p in out if p.exists()]


def _healthy(layout: Layout, svc: Service) -> bool:
    pid = procs.read_pid(layout.pidfile(svc.name))
    if pid is None or not procs.alive(pid):
        return False
    return svc.port is None or procs.port_answers(svc.port)


# ---------------------------------------------------------------- public API


def status(dir: Path | str | None = None) -> list[ServiceStatus]:
    """Each service of the recorded profile: up/down, port, pid, RSS (bytes)."""
    layout = _layout(dir)
    profile = _read_state(layout).get("profile", "full")
    rows = []
    for svc in services_for(profile if profile in PROFILES else "full"):
        pid = procs.read_pid(layout.pidfile(svc.name))
        live = pid is not None and procs.alive(pid)
        rss, pss = procs.memory_bytes(pid) if live and pid else (0, 0)
        rows.append(
            ServiceStatus(
                name=svc.name,
                up=live and (svc.port is None or procs.port_answers(svc.port)),
                port=svc.port,
                pid=pid if live else None,
                rss_bytes=rss,
                pss_bytes=pss,
            )
        )
    return rows


def state(dir: Path | str | None = None) -> dict[str, Any]:
    """What the last `up` recorded: profile, ready, zones file, pg_dir, ..."""
    return _read_state(_layout(dir))


def is_up(dir: Path | str | None = None, profile: Profile = "minimal") -> bool:
    """True if a devcloud of `profile` (or bigger) is running and finished setup."""
    layout = _layout(dir)
    state = _read_state(layout)
    running = state.get("profile")
    if not state.get("ready") or running not in PROFILES:
        return False
    if profile == "full" and running != "full":
        return False
    return all(_healthy(layout, s) for s in services_for(running))


def logs(service: str, lines: int = 50, dir: Path | str | None = None) -> str:
    """Last `lines` lines of each log file of `service` (or of a setup step)."""
    layout = _layout(dir)
    paths = service_logs(layout, service)
    if not paths:
        extra = layout.log / f"{service}.log"
        paths = [extra] if extra.exists() else []
    if not paths:
        known = ", ".join(s.name for s in SERVICES)
        raise DevcloudError(service, f"no log found under {layout.log} (services: {known})")
    return procs.format_log_tail(paths, lines)


def down(
    purge: bool = False, dir: Path | str | None = None, progress: Progress | None = None
) -> list[str]:
    """Stop every process `up` recorded (and their children); returns their names.

    purge: also delete data, logs, configs and clouds.yaml (the venv is kept:
    it is a package cache; delete the whole directory to drop it too).
    """
    layout = _layout(dir)
    with _locked(layout):
        return _down(layout, purge, progress)


def _down(layout: Layout, purge: bool, progress: Progress | None) -> list[str]:
    say = progress or _print
    stopped = []
    if layout.run.is_dir():
        # Reverse start order: API front-ends first, databases last.
        names = [s.name for s in reversed(SERVICES)]
        names += sorted(p.stem for p in layout.run.glob("*.pid") if p.stem not in names)
        had_rabbit = layout.pidfile("rabbitmq").exists()
        targets = []
        for name in names:
            pid = procs.read_pid(layout.pidfile(name))
            if pid is not None and procs.alive(pid):
                # PostgreSQL: SIGINT = fast shutdown (SIGTERM waits for clients).
                targets.append((pid, signal.SIGINT if name == "postgres" else signal.SIGTERM))
                stopped.append(name)
        procs.stop_all(targets)
        for name in names:
            layout.pidfile(name).unlink(missing_ok=True)
        if had_rabbit:
            _stop_epmd(layout)
        _write_state(layout, ready=False)
    state = _read_state(layout)
    if purge:
        for sub in ("data", "log", "run", "etc", "wsgi", "build"):
            shutil.rmtree(layout.root / sub, ignore_errors=True)
        layout.clouds_yaml.unlink(missing_ok=True)
        pg_dir = state.get("pg_dir")
        if pg_dir and Path(pg_dir).name.startswith("cgcloud-devcloud-pg-"):
            shutil.rmtree(pg_dir, ignore_errors=True)
    say(
        f"devcloud down ({', '.join(stopped) if stopped else 'nothing was running'})"
        + (f"; purged state under {layout.root} (venv kept)" if purge else "")
    )
    return stopped


def _stop_epmd(layout: Layout) -> None:
    """epmd daemonizes out of RabbitMQ's tree; it listens on our private port only."""
    epmd = shutil.which("epmd") or "/usr/bin/epmd"
    if Path(epmd).exists() and procs.port_answers(EPMD_PORT):
        subprocess.run(
            [epmd, "-port", str(EPMD_PORT), "-kill"],
            capture_output=True,
            env=service_env(layout),
            timeout=30,
            check=False,
        )


@contextlib.contextmanager
def _locked(layout: Layout) -> Iterator[None]:
    """One `up`/`down` at a time per devcloud dir (e.g. two pytest sessions)."""
    import fcntl

    layout.root.mkdir(parents=True, exist_ok=True)
    with (layout.root / ".lock").open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def up(
    profile: Profile = "minimal",
    dir: Path | str | None = None,
    progress: Progress | None = None,
    zones: Path | str | None = None,
    site: bool = True,
) -> UpResult:
    """Install what is missing, start the stack, lay out the site; idempotent.

    If a devcloud of this profile is already up and healthy, say so and return.
    On any failure, stop everything this call started and raise DevcloudError.
    """
    if profile not in PROFILES:
        raise DevcloudError("up", f"unknown profile {profile!r} (use minimal or full)")
    layout = _layout(dir)
    with _locked(layout):
        return _up(layout, profile, progress, zones, site)


def _up(
    layout: Layout,
    profile: Profile,
    progress: Progress | None,
    zones: Path | str | None,
    site: bool,
) -> UpResult:
    say = _Clock(progress)
    if is_up(layout.root, profile):
        running = _read_state(layout).get("profile")
        say(f"devcloud already up ({running}) in {layout.root}; nothing to do")
        say(usage_hint(layout))
        return UpResult(
            str(running), str(layout.root), str(layout.clouds_yaml), True, False, say.elapsed(), 0.0
        )
    # Anything half-running from an earlier call is stopped first.
    if layout.run.is_dir() and any(layout.run.glob("*.pid")):
        say("stopping the previous (unhealthy or smaller) devcloud first")
        _down(layout, False, lambda m: say(m))
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.log.mkdir(parents=True, exist_ok=True)

    t_install = time.monotonic()
    installed = install.ensure_apt(layout, profile, say)
    installed = install.ensure_venv(layout, profile, say) or installed
    install_seconds = time.monotonic() - t_install
    t_start = time.monotonic()

    _check_ports(layout, profile)
    try:
        _Starter(layout, profile, say).run()
        if site:
            from cgcloud.devcloud import site as site_mod

            zones_path = site_mod.resolve_zones(zones)
            if zones_path is None:
                say("no Zones file found (policies/zones.yaml); site layout skipped (--zones)")
            else:
                say(f"site layout from {zones_path}")
                _write_state(layout, zones=str(zones_path.resolve()))
                site_mod.lay_out(_connect(layout), site_mod.load_zones(zones_path), profile, say)
    except BaseException as exc:
        say("start failed; stopping everything that was started")
        _down(layout, False, lambda m: say(m))
        if isinstance(exc, DevcloudError):
            raise
        if isinstance(exc, Exception):
            raise DevcloudError("up", f"{type(exc).__name__}: {exc}") from exc
        raise
    _write_state(layout, ready=True, profile=profile)
    say(
        f"devcloud UP ({profile}) in {time.monotonic() - t_start:.1f}s"
        f" (+{install_seconds:.1f}s installing)"
        if installed
        else f"devcloud UP ({profile}) in {time.monotonic() - t_start:.1f}s"
    )
    say(usage_hint(layout))
    return UpResult(
        profile,
        str(layout.root),
        str(layout.clouds_yaml),
        False,
        installed,
        say.elapsed(),
        install_seconds,
    )


def usage_hint(layout: Layout) -> str:
    """How to point openstacksdk/cgcloud at the devcloud."""
    return (
        f"use it with:\n  export OS_CLIENT_CONFIG_FILE={layout.clouds_yaml} "
        f"OS_CLOUD={CLOUD_NAME}\n  logs: {layout.log}  stop: cgcloud devcloud down"
    )


def connect(dir: Path | str | None = None) -> Any:
    """An openstacksdk connection to the devcloud as admin."""
    return _connect(_layout(dir))


def _connect(layout: Layout) -> Any:
    import openstack.config
    import openstack.connection

    cfg = openstack.config.OpenStackConfig(config_files=[str(layout.clouds_yaml)])
    region = cfg.get_one(cloud=CLOUD_NAME)
    return openstack.connection.Connection(config=region)


def _check_ports(layout: Layout, profile: Profile) -> None:
    """Refuse to start if a port we need is taken by someone else."""
    ports = [(s.name, s.port) for s in services_for(profile) if s.port]
    if profile == "full":
        ports += [("rabbitmq (epmd)", EPMD_PORT), ("rabbitmq (dist)", RABBIT_DIST_PORT)]
    for name, port in ports:
        if port == EPMD_PORT and procs.port_in_use(port):
            # Our private epmd port, and RabbitMQ's own port was free: a leftover
            # of a devcloud whose RabbitMQ died or was killed. Stop it.
            holder = procs.listener_pid(port)
            if holder and Path(procs.process_name(holder).split()[0]).name == "epmd":
                _stop_epmd(layout)
                if procs.port_in_use(port):  # epmd refuses -kill while it has nodes
                    procs.stop(holder)
                for _ in range(50):
                    if not procs.port_in_use(port):
                        break
                    time.sleep(0.1)
        if procs.port_in_use(port):
            holder = procs.listener_pid(port)
            who = f" by pid {holder} ({procs.process_name(holder)})" if holder else ""
            raise DevcloudError(
                name.split()[0],
                f"port {HOST}:{port} is already in use{who}; stop that process "
                f"(or an old devcloud: cgcloud devcloud down --dir ...) and retry",
            )


# ---------------------------------------------------------------- the start sequence


class _Starter:
    """One `up` run: writes configs, starts processes in order, waits for each."""

    def __init__(self, layout: Layout, profile: Profile, say: _Clock):
        self.layout = layout
        self.profile = profile
        self.say = say
        self.env = service_env(layout)
        self.password = _password(layout)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.setup_log = layout.log / "setup.log"
        self.pg_port = SERVICE_BY_NAME["postgres"].port if profile == "full" else None

    # -------------------------------------------------------- helpers
    def tool(self, name: str, *args: str, what: str | None = None) -> str:
        return procs.run(
            [str(self.layout.bin(name)), *args],
            what or name.split("-")[0],
            self.setup_log,
            env=self.env,
        )

    def start(
        self,
        svc: Service,
        argv: list[str] | None = None,
        env: dict[str, str] | None = None,
        user: str | None = None,
        cwd: Path | None = None,
    ) -> None:
        argv = argv or service_command(self.layout, svc, self.profile)
        p = procs.start(argv, self.layout.stdout_log(svc.name), env or self.env, cwd=cwd, user=user)
        self.procs[svc.name] = p
        procs.write_pid(self.layout.pidfile(svc.name), p.pid)

    def check_alive(self, name: str) -> None:
        p = self.procs.get(name)
        if p is not None and p.poll() is not None:
            raise DevcloudError(
                name, f"exited during start (exit {p.returncode})", service_logs(self.layout, name)
            )
        svc = SERVICE_BY_NAME.get(name)
        if p is not None and svc is not None and svc.kind == "wsgi":
            # gunicorn's master survives a crashing app and reboots the worker forever
            out = procs.tail_lines(self.layout.stdout_log(name), 400)
            if sum("exited with code" in line for line in out) >= 2:
                raise DevcloudError(
                    name, "its worker keeps crashing during start", service_logs(self.layout, name)
                )

    def wait(
        self, name: str, ready: Callable[[], bool], timeout: float = 120, what: str = "answers"
    ) -> None:
        t0 = time.monotonic()
        last = ""
        while time.monotonic() - t0 < timeout:
            self.check_alive(name)
            try:
                if ready():
                    self.say(f"{name} {what} ({time.monotonic() - t0:.1f}s)")
                    return
            except Exception as exc:  # still warming up
                last = f" (last error: {type(exc).__name__}: {str(exc)[:200]})"
            time.sleep(0.2)
        raise DevcloudError(
            name, f"not ready after {timeout:.0f}s{last}", service_logs(self.layout, name)
        )

    def wait_http(self, name: str, timeout: float = 120) -> None:
        svc = SERVICE_BY_NAME[name]
        url = f"http://{HOST}:{svc.port}{svc.health or '/'}"
        self.wait(name, lambda: procs.http_answers(url), timeout)

    # -------------------------------------------------------- steps
    def run(self) -> None:
        self.prepare()
        full = self.profile == "full"
        if full:
            self.postgres()
        _parallel(self.keystone, self.neutron_schema)
        self.wait_http("keystone")
        conn = _connect(self.layout)
        wanted = ["neutron"] + (["placement", "glance", "nova", "cinder"] if full else [])
        self.say(f"keystone: service users + endpoints for {', '.join(wanted)}")
        register_services(conn, wanted, self.password)
        conn = _connect(self.layout)  # a fresh token: its catalog has the new endpoints
        self.start(SERVICE_BY_NAME["neutron"])
        self.wait_http("neutron")
        if full:
            self.full(conn)

    def prepare(self) -> None:
        """Fresh data/log/run dirs; (re)write every config file."""
        lay = self.layout
        for sub in (lay.data, lay.run):
            shutil.rmtree(sub, ignore_errors=True)
        for f in lay.log.glob("*"):
            if f.name != "install.log":
                if f.is_dir():
                    shutil.rmtree(f, ignore_errors=True)
                else:
                    f.unlink(missing_ok=True)
        for name in (
            "neutron/lock",
            "nova/lock",
            "nova/instances",
            "cinder/lock",
            "glance/images",
            "glance/staging",
            "glance/lock",
            "rabbitmq/home",
        ):
            (lay.data / name).mkdir(parents=True, exist_ok=True)
        lay.run.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(lay.etc, ignore_errors=True)
        files = render_configs(lay, self.profile, self.password)
        files.update(render_wsgi_modules(lay))
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        for f in (lay.etc / "clouds.yaml", lay.password_file):
            f.chmod(0o600)
        shutil.copy(lay.etc / "clouds.yaml", lay.clouds_yaml)
        lay.clouds_yaml.chmod(0o600)
        venv_etc = lay.venv / "etc"
        copies = [("neutron/api-paste.ini", "neutron/api-paste.ini")]
        if self.profile == "full":
            copies += [
                ("glance/glance-api-paste.ini", "glance/glance-api-paste.ini"),
                ("nova/api-paste.ini", "nova/api-paste.ini"),
                ("cinder/api-paste.ini", "cinder/api-paste.ini"),
                ("cinder/resource_filters.json", "cinder/resource_filters.json"),
            ]
        for src, dst in copies:
            if not (venv_etc / src).exists():
                raise DevcloudError(
                    src.split("/")[0],
                    f"{venv_etc / src} missing: broken venv? delete {lay.venv} and run up again",
                )
            shutil.copy(venv_etc / src, lay.etc / dst)
        _write_state(lay, ready=False, profile=self.profile, started=time.time())

    def postgres(self) -> None:
        """A private PostgreSQL 15 cluster on 127.0.0.1 (fsync off) for Nova + Cinder."""
        svc = SERVICE_BY_NAME["postgres"]
        if not (PG_BIN / "postgres").exists():
            raise DevcloudError(
                "postgres", f"{PG_BIN}/postgres not found (apt-get install postgresql-15)"
            )
        user = "postgres" if os.geteuid() == 0 else None
        pg_dir = self.layout.data / "pg"
        if user and not _user_can_reach(user, self.layout.data):
            # The postgres user cannot traverse e.g. /root (0700): keep the cluster
            # in a private directory it can reach, named after this devcloud.
            tag = hashlib.sha256(str(self.layout.root).encode()).hexdigest()[:10]
            pg_dir = Path("/var/tmp") / f"cgcloud-devcloud-pg-{tag}"
        shutil.rmtree(pg_dir, ignore_errors=True)
        pg_dir.mkdir(parents=True, mode=0o700)
        if user:
            shutil.chown(pg_dir, user, user)
        _write_state(self.layout, pg_dir=str(pg_dir))
        self.say(f"postgres: initdb + start ({HOST}:{svc.port}, fsync off)")
        procs.run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(pg_dir / "data"),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            "postgres",
            self.setup_log,
            user=user,
            cwd=pg_dir,
        )
        self.start(
            svc,
            [
                str(PG_BIN / "postgres"),
                "-D",
                str(pg_dir / "data"),
                "-p",
                str(svc.port),
                "-c",
                f"listen_addresses={HOST}",
                "-c",
                f"unix_socket_directories={pg_dir}",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
                "-c",
                "shared_buffers=32MB",
            ],
            user=user,
            cwd=pg_dir,
        )
        self.wait("postgres", lambda: procs.port_answers(svc.port or 0), 60, "accepts connections")
        for db in PG_DATABASES:
            procs.run(
                [
                    str(PG_BIN / "psql"),
                    "-h",
                    HOST,
                    "-p",
                    str(svc.port),
                    "-U",
                    "postgres",
                    "-q",
                    "-c",
                    f"CREATE DATABASE {db}",
                ],
                "postgres",
                self.setup_log,
                user=user,
                cwd=pg_dir,
            )

    def keystone(self) -> None:
        conf = str(self.layout.etc / "keystone/keystone.conf")
        self.say("keystone: db_sync + fernet keys + bootstrap")
        self.tool("keystone-manage", "--config-file", conf, "db_sync")
        me = _me()
        self.tool(
            "keystone-manage",
            "--config-file",
            conf,
            "fernet_setup",
            "--keystone-user",
            me[0],
            "--keystone-group",
            me[1],
        )
        self.tool(
            "keystone-manage",
            "--config-file",
            conf,
            "credential_setup",
            "--keystone-user",
            me[0],
            "--keystone-group",
            me[1],
        )
        url = f"http://{HOST}:{SERVICE_BY_NAME['keystone'].port}/v3"
        env = dict(self.env, OS_BOOTSTRAP_PASSWORD=self.password)  # never on argv/logs
        procs.run(
            [
                str(self.layout.bin("keystone-manage")),
                "--config-file",
                conf,
                "bootstrap",
                "--bootstrap-region-id",
                REGION,
                "--bootstrap-admin-url",
                url,
                "--bootstrap-public-url",
                url,
                "--bootstrap-internal-url",
                url,
            ],
            "keystone",
            self.setup_log,
            env=env,
        )
        self.start(SERVICE_BY_NAME["keystone"])

    def neutron_schema(self) -> None:
        self.say("neutron: schema from models + stamp alembic heads")
        helper = Path(__file__).resolve().parent / "helpers" / "neutron_schema.py"
        procs.run(
            [
                str(self.layout.bin("python")),
                str(helper),
                db_url(self.layout, "neutron", self.pg_port),
            ],
            "neutron",
            self.setup_log,
            env=self.env,
        )
        self.tool(
            "neutron-db-manage",
            "--config-file",
            str(self.layout.etc / "neutron/neutron.conf"),
            "stamp",
            "heads",
        )

    def full(self, conn: Any) -> None:
        lay, e = self.layout, self.layout.etc
        self.say("rabbitmq: starting")
        if not RABBIT_SERVER.exists():
            raise DevcloudError(
                "rabbitmq", f"{RABBIT_SERVER} not found (apt-get install rabbitmq-server)"
            )
        rabbit_env = dict(
            self.env,
            HOME=str(lay.data / "rabbitmq/home"),
            RABBITMQ_CONF_ENV_FILE=str(e / "rabbitmq/rabbitmq-env.conf"),
        )
        self.start(SERVICE_BY_NAME["rabbitmq"], [str(RABBIT_SERVER)], env=rabbit_env)

        self.say("placement, glance, nova, cinder: db sync (in parallel)")
        nova = ["--config-file", str(e / "nova/nova.conf")]

        def placement() -> None:
            self.tool(
                "placement-manage",
                "--config-file",
                str(e / "placement/placement.conf"),
                "db",
                "sync",
            )
            self.start(SERVICE_BY_NAME["placement"])

        def glance() -> None:
            self.tool(
                "glance-manage", "--config-file", str(e / "glance/glance-api.conf"), "db_sync"
            )
            _sqlite_wal(lay, "glance")
            self.start(SERVICE_BY_NAME["glance"])

        def nova_dbs() -> None:
            self.tool("nova-manage", *nova, "api_db", "sync")
            self.tool(
                "nova-manage",
                *nova,
                "cell_v2",
                "map_cell0",
                "--database_connection",
                db_url(lay, "nova_cell0", self.pg_port),
            )
            self.tool("nova-manage", *nova, "cell_v2", "create_cell", "--name", "cell1")
            self.tool("nova-manage", *nova, "db", "sync")

        def cinder() -> None:
            self.tool("cinder-manage", "--config-file", str(e / "cinder/cinder.conf"), "db", "sync")

        _parallel(nova_dbs, cinder, placement, glance)

        ctl_env = dict(
            self.env,
            HOME=str(lay.data / "rabbitmq/home"),
            RABBITMQ_CONF_ENV_FILE=str(e / "rabbitmq/rabbitmq-env.conf"),
        )

        def rabbit_ready() -> bool:
            r = subprocess.run(
                [
                    str(RABBIT_CTL),
                    "-n",
                    "devcloud@localhost",
                    "-q",
                    "await_startup",
                    "--timeout",
                    "5",
                ],
                env=ctl_env,
                capture_output=True,
                timeout=30,
                check=False,
            )
            return r.returncode == 0

        self.wait("rabbitmq", rabbit_ready, 120, "is up")
        for name in (
            "nova-conductor",
            "nova-scheduler",
            "nova-compute",
            "nova-api",
            "cinder-scheduler",
            "cinder-api",
        ):
            self.start(SERVICE_BY_NAME[name])
        for name in ("placement", "glance", "nova-api", "cinder-api"):
            self.wait_http(name)
        bs, cp = conn.block_storage, conn.compute

        def service_up(api: Any, binary: str) -> Callable[[], bool]:
            return lambda: any(s.binary == binary and s.state == "up" for s in api.services())

        # cinder-volume only after cinder-scheduler registered (fewer start races)
        self.wait("cinder-scheduler", service_up(bs, "cinder-scheduler"), 90, "is up")
        self.start(SERVICE_BY_NAME["cinder-volume"])
        self.wait("nova-compute", service_up(cp, "nova-compute"), 120, "is up")
        self.tool("nova-manage", *nova, "cell_v2", "discover_hosts", what="nova-compute")
        self.wait("nova-compute", lambda: len(list(cp.hypervisors())) > 0, 60, "mapped to cell1")
        self.wait(
            "placement",
            lambda: len(list(conn.placement.resource_providers())) > 0,
            60,
            "has the compute resource provider",
        )
        for b in ("nova-conductor", "nova-scheduler"):
            self.wait(b, service_up(cp, b), 90, "is up")
        self.wait("cinder-volume", service_up(bs, "cinder-volume"), 90, "is up")


def register_services(conn: Any, wanted: list[str], password: str) -> None:
    """Service project, users (admin + service roles) and endpoints; idempotent."""
    idc = conn.identity
    dom = idc.find_domain("default")
    proj = idc.find_project("service", domain_id=dom.id) or idc.create_project(
        name="service", domain_id=dom.id
    )
    admin = idc.find_role("admin")
    service_role = idc.find_role("service") or idc.create_role(name="service")
    for name in wanted:
        stype, url = CATALOG[name]
        user = idc.find_user(name, domain_id=dom.id) or idc.create_user(
            name=name, password=password, domain_id=dom.id
        )
        for role in (admin, service_role):
            idc.assign_project_role_to_user(proj, user, role)
        svc = next((s for s in idc.services() if s.type == stype), None) or idc.create_service(
            name=name, type=stype
        )
        if not any(True for _ in idc.endpoints(service_id=svc.id)):
            for iface in ("public", "internal", "admin"):
                idc.create_endpoint(service_id=svc.id, interface=iface, url=url, region_id=REGION)


def _parallel(*steps: Callable[[], None]) -> None:
    """Run independent setup steps in threads (they mostly wait on subprocesses).

    Why: each `*-manage` call is a fresh Python process importing a large
    package; two cores run two of them at once. The first error is re-raised
    after every step has finished, so nothing is left half-started unseen.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(steps)) as pool:
        futures = [pool.submit(step) for step in steps]
    for f in futures:
        f.result()


def _sqlite_wal(layout: Layout, db: str) -> None:
    """WAL journal: readers no longer block the writer (fewer "database is locked")."""
    import sqlite3

    path = layout.data / f"{db}.db"
    if path.exists():
        with contextlib.closing(sqlite3.connect(path)) as con:
            con.execute("PRAGMA journal_mode=WAL")


def _me() -> tuple[str, str]:
    import grp
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name


def _user_can_reach(user: str, path: Path) -> bool:
    """Can `user` traverse into `path`? (checked by running `test -x` as that user)."""
    try:
        r = subprocess.run(
            ["test", "-x", str(path)], user=user, capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0


def result_dict(result: UpResult) -> dict[str, Any]:
    return asdict(result)
