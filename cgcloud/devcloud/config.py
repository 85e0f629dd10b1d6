"""Pure facts and config rendering for the devcloud (no processes, no network).

Why a separate module: everything here is a plain function of (layout, profile,
password), so unit tests can render and check every config file quickly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Profile = Literal["minimal", "full"]
PROFILES: tuple[Profile, ...] = ("minimal", "full")

HOST = "127.0.0.1"
REGION = "RegionOne"
CLOUD_NAME = "devcloud"
TAG = "cgcloud-devcloud"
DEFAULT_DIR = Path("~/.cache/cgcloud/devcloud")
DIR_ENV = "CGCLOUD_DEVCLOUD_DIR"

# Erlang port mapper and distribution ports: private, so a system RabbitMQ
# (or another devcloud) is left alone.
EPMD_PORT = 34369
RABBIT_DIST_PORT = 35673
PG_BIN = Path("/usr/lib/postgresql/15/bin")
RABBIT_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
RABBIT_CTL = Path("/usr/lib/rabbitmq/bin/rabbitmqctl")


@dataclass(frozen=True)
class Service:
    """One long-running process of the stack.

    kind: "wsgi" (gunicorn serving `module`), "proc" (a console script of the
    venv), "rabbitmq" or "postgres". `health` is the URL path probed over HTTP
    (None: a TCP connect is enough, or no port at all).
    """

    name: str
    port: int | None
    kind: str
    profile: Profile
    module: str = ""
    health: str | None = "/"
    threads: int = 4


SERVICES: tuple[Service, ...] = (
    Service("postgres", 35432, "postgres", "full", health=None),
    Service("rabbitmq", 35672, "rabbitmq", "full", health=None),
    Service("keystone", 15000, "wsgi", "minimal", "keystone_app", "/v3"),
    # One thread per worker; one worker on SQLite (minimal profile: serial requests
    # never meet "database is locked"), two on PostgreSQL (full profile).
    Service("neutron", 19696, "wsgi", "minimal", "neutron_app", threads=1),
    Service("placement", 18778, "wsgi", "full", "placement_app"),
    Service("glance", 19292, "wsgi", "full", "glance_app"),
    Service("nova-conductor", None, "proc", "full", health=None),
    Service("nova-scheduler", None, "proc", "full", health=None),
    Service("nova-compute", None, "proc", "full", health=None),
    Service("nova-api", 18774, "wsgi", "full", "nova_api_app"),
    Service("cinder-scheduler", None, "proc", "full", health=None),
    Service("cinder-api", 18776, "wsgi", "full", "cinder_app"),
    Service("cinder-volume", None, "proc", "full", health=None),
)
SERVICE_BY_NAME = {s.name: s for s in SERVICES}

# Keystone catalog entries: service name -> (type, URL)
CATALOG: dict[str, tuple[str, str]] = {
    "neutron": ("network", f"http://{HOST}:19696"),
    "placement": ("placement", f"http://{HOST}:18778"),
    "glance": ("image", f"http://{HOST}:19292"),
    "nova": ("compute", f"http://{HOST}:18774/v2.1"),
    "cinder": ("block-storage", f"http://{HOST}:18776/v3/$(project_id)s"),
}

# WSGI entry modules: oslo.config parses sys.argv, so gunicorn's argv is hidden.
WSGI_MODULES: dict[str, str] = {
    "keystone_app": "keystone.wsgi.api",
    "neutron_app": "neutron.wsgi.api",
    "placement_app": "placement.wsgi.api",
    "glance_app": "glance.wsgi.api",
    "nova_api_app": "nova.wsgi.osapi_compute",
}

PIP_PACKAGES: dict[Profile, tuple[str, ...]] = {
    "minimal": ("keystone", "neutron", "gunicorn"),
    "full": (
        "keystone",
        "neutron",
        "gunicorn",
        "openstack-placement",
        "glance",
        "nova",
        "cinder",
        "psycopg2-binary",
    ),
}
PG_DATABASES = ("nova_api", "nova", "nova_cell0", "cinder", "placement", "neutron")


def services_for(profile: Profile) -> list[Service]:
    """The services a profile runs, in start order."""
    return [s for s in SERVICES if profile == "full" or s.profile == "minimal"]


def resolve_dir(path: Path | str | None = None) -> Path:
    """--dir beats $CGCLOUD_DEVCLOUD_DIR beats ~/.cache/cgcloud/devcloud."""
    raw = path if path is not None else os.environ.get(DIR_ENV) or DEFAULT_DIR
    return Path(raw).expanduser().resolve()


@dataclass(frozen=True)
class Layout:
    """Where everything lives under the devcloud directory."""

    root: Path

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "log"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def wsgi(self) -> Path:
        return self.root / "wsgi"

    @property
    def clouds_yaml(self) -> Path:
        return self.root / "clouds.yaml"

    @property
    def state_file(self) -> Path:
        return self.run / "state.json"

    @property
    def password_file(self) -> Path:
        return self.root / "admin-password"

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name

    def pidfile(self, service: str) -> Path:
        return self.run / f"{service}.pid"

    def stdout_log(self, service: str) -> Path:
        return self.log / f"{service}.out"

    def service_log(self, service: str) -> Path:
        return self.log / f"{service}.log"


def db_url(layout: Layout, db: str, pg_port: int | None) -> str:
    """SQLite for Keystone/Glance (and Neutron in the minimal profile); Nova, Cinder,
    Placement and Neutron on PostgreSQL when given.

    Why: Nova and Cinder run 3-4 processes per database, and Placement takes
    concurrent allocation writes; on SQLite they give "database is locked". Neutron
    on PostgreSQL runs two API workers (on SQLite a second worker failed 120 of 200
    concurrent rule bulks) and was faster per request too (docs/devcloud.md).
    """
    if pg_port is not None and (db.startswith("nova") or db in ("cinder", "placement", "neutron")):
        return f"postgresql+psycopg2://postgres@{HOST}:{pg_port}/{db}"
    return f"sqlite:///{layout.data / db}.db"


def _authtoken(user: str, password: str) -> str:
    ks = f"http://{HOST}:{SERVICE_BY_NAME['keystone'].port}"
    return (
        "[keystone_authtoken]\n"
        f"www_authenticate_uri = {ks}\nauth_url = {ks}\nauth_type = password\n"
        f"username = {user}\npassword = {password}\nproject_name = service\n"
        "user_domain_name = Default\nproject_domain_name = Default\n"
        "service_token_roles_required = true\n"
    )


def _svcauth(section: str, user: str, password: str) -> str:
    ks = f"http://{HOST}:{SERVICE_BY_NAME['keystone'].port}"
    return (
        f"[{section}]\nauth_type = password\nauth_url = {ks}\n"
        f"username = {user}\npassword = {password}\nproject_name = service\n"
        f"user_domain_name = Default\nproject_domain_name = Default\nregion_name = {REGION}\n"
    )


def rabbit_url() -> str:
    return f"rabbit://guest:guest@{HOST}:{SERVICE_BY_NAME['rabbitmq'].port}/"


def render_configs(layout: Layout, profile: Profile, password: str) -> dict[Path, str]:
    """Every config file the stack needs, as {path: text}.

    Paste/policy files shipped inside the packages are copied separately.
    """
    e, d, lg = layout.etc, layout.data, layout.log
    pg = SERVICE_BY_NAME["postgres"].port if profile == "full" else None
    files: dict[Path, str] = {}

    files[e / "keystone/keystone.conf"] = f"""[DEFAULT]
log_file = {lg}/keystone.log
[database]
connection = {db_url(layout, "keystone", pg)}
[identity]
# cheap bcrypt: user creation ~7x faster; test-only
password_hash_rounds = 4
[token]
provider = fernet
expiration = 86400
[fernet_tokens]
key_repository = {d}/fernet-keys
[fernet_receipts]
key_repository = {d}/fernet-keys
[credential]
key_repository = {d}/credential-keys
[cache]
# Keystone's caching layer, as production runs it (memcached there; one Keystone worker
# here, so an in-process cache stays coherent). Without it every token validation and
# project lookup hits the database: Nova's quota GET (which asks Keystone whether the
# project exists) took 128 ms instead of 16 ms (benchmarks/README.md).
enabled = true
backend = dogpile.cache.memory
"""

    files[e / "neutron/neutron.conf"] = f"""[DEFAULT]
log_file = {lg}/neutron.log
state_path = {d}/neutron
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
allow_overlapping_ips = true
# No RabbitMQ: with no agents the API process only casts into the void.
transport_url = fake:/
rpc_workers = 0
rpc_state_report_workers = 0
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
[database]
connection = {db_url(layout, "neutron", pg)}
{_authtoken("neutron", password)}
[oslo_concurrency]
lock_path = {d}/neutron/lock
[oslo_messaging_notifications]
driver = noop
[oslo_policy]
# Files that exist, by absolute path: oslo.policy looks both up on every check, and
# when they are missing it searches the config dirs each time (~1/3 of a list call).
policy_file = {e}/neutron/policy.yaml
policy_dirs = {e}/neutron/policy.d
"""
    for f in ("policy.yaml", "policy.d/00-defaults.yaml"):
        files[e / "neutron" / f] = "# empty: Neutron's policy defaults in code apply\n{}\n"
    files[e / "neutron/plugins/ml2/ml2_conf.ini"] = """[ml2]
type_drivers = flat,vlan,vxlan
project_network_types = vxlan
# bind_all (cgcloud_ml2_bindall): marks every port bound + ACTIVE, no dataplane
mechanism_drivers = bind_all
extension_drivers = port_security
[ml2_type_flat]
flat_networks = *
[ml2_type_vlan]
network_vlan_ranges = public:100:199
[ml2_type_vxlan]
vni_ranges = 1:10000
"""
    files[e / "clouds.yaml"] = render_clouds_yaml(password)
    if profile == "minimal":
        return files

    files[e / "placement/placement.conf"] = f"""[DEFAULT]
log_file = {lg}/placement.log
[placement_database]
connection = {db_url(layout, "placement", pg)}
[api]
auth_strategy = keystone
{_authtoken("placement", password)}"""

    files[e / "glance/glance-api.conf"] = f"""[DEFAULT]
log_file = {lg}/glance.log
node_staging_uri = file://{d}/glance/staging
[database]
connection = {db_url(layout, "glance", pg)}
[paste_deploy]
flavor = keystone
config_file = {e}/glance/glance-api-paste.ini
[glance_store]
stores = file
default_store = file
filesystem_store_datadir = {d}/glance/images
{_authtoken("glance", password)}
[oslo_concurrency]
lock_path = {d}/glance/lock
[oslo_messaging_notifications]
driver = noop
"""

    files[e / "nova/nova.conf"] = f"""[DEFAULT]
transport_url = {rabbit_url()}
compute_driver = fake.FakeDriver
host = devcloud-compute
my_ip = {HOST}
state_path = {d}/nova
instances_path = {d}/nova/instances
[api]
auth_strategy = keystone
[wsgi]
api_paste_config = {e}/nova/api-paste.ini
[api_database]
connection = {db_url(layout, "nova_api", pg)}
[database]
connection = {db_url(layout, "nova", pg)}
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = 2
{_authtoken("nova", password)}
{_svcauth("service_user", "nova", password)}send_service_user_token = true
{_svcauth("placement", "placement", password)}
{_svcauth("neutron", "neutron", password)}
[glance]
region_name = {REGION}
[cinder]
os_region_name = {REGION}
[oslo_concurrency]
lock_path = {d}/nova/lock
[oslo_messaging_notifications]
driver = noop
[vnc]
enabled = false
"""
    files[e / "nova/nova-api.conf"] = f"[DEFAULT]\nlog_file = {lg}/nova-api.log\n"

    files[e / "cinder/cinder.conf"] = f"""[DEFAULT]
transport_url = {rabbit_url()}
auth_strategy = keystone
my_ip = {HOST}
host = devcloud-cinder
state_path = {d}/cinder
api_paste_config = {e}/cinder/api-paste.ini
resource_query_filters_file = {e}/cinder/resource_filters.json
enabled_backends = fake
osapi_volume_workers = 1
glance_api_servers = http://{HOST}:{SERVICE_BY_NAME["glance"].port}
[fake]
volume_driver = cinder.tests.fake_driver.FakeLoggingVolumeDriver
volume_backend_name = fake
target_helper = fake
[database]
connection = {db_url(layout, "cinder", pg)}
{_authtoken("cinder", password)}
{_svcauth("nova", "nova", password)}
{_svcauth("service_user", "cinder", password)}send_service_user_token = true
[oslo_concurrency]
lock_path = {d}/cinder/lock
[oslo_messaging_notifications]
driver = noop
"""
    files[e / "cinder/cinder-api.conf"] = f"[DEFAULT]\nlog_file = {lg}/cinder-api.log\n"

    rabbit = SERVICE_BY_NAME["rabbitmq"].port
    files[e / "rabbitmq/rabbitmq-env.conf"] = f"""NODENAME=devcloud@localhost
NODE_IP_ADDRESS={HOST}
NODE_PORT={rabbit}
DIST_PORT={RABBIT_DIST_PORT}
MNESIA_BASE={d}/rabbitmq/mnesia
LOG_BASE={lg}/rabbitmq
CONFIG_FILE={e}/rabbitmq/rabbitmq.conf
ENABLED_PLUGINS_FILE={e}/rabbitmq/enabled_plugins
SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {{127,0,0,1}}"
"""
    files[e / "rabbitmq/rabbitmq.conf"] = f"""listeners.tcp.default = {HOST}:{rabbit}
loopback_users = none
vm_memory_high_watermark.absolute = 512MB
disk_free_limit.absolute = 50MB
"""
    files[e / "rabbitmq/enabled_plugins"] = "[].\n"
    return files


def render_wsgi_modules(layout: Layout) -> dict[Path, str]:
    """gunicorn entry modules that hide gunicorn's argv from oslo.config."""
    out = {
        layout.wsgi / f"{name}.py": (
            f"import sys\nsys.argv = sys.argv[:1]\nfrom {module} import application  # noqa\n"
        )
        for name, module in WSGI_MODULES.items()
    }
    e = layout.etc / "cinder"
    out[layout.wsgi / "cinder_app.py"] = (
        "import sys\n"
        f"sys.argv = [sys.argv[0], '--config-file', '{e}/cinder.conf',"
        f" '--config-file', '{e}/cinder-api.conf']\n"
        "from cinder.wsgi.api import application  # noqa\n"
    )
    return out


def render_clouds_yaml(password: str) -> str:
    """clouds.yaml with one admin cloud named `devcloud`."""
    return f"""# written by `cgcloud devcloud up`; admin credentials of a loopback test cloud
clouds:
  {CLOUD_NAME}:
    auth:
      auth_url: http://{HOST}:{SERVICE_BY_NAME["keystone"].port}/v3
      username: admin
      password: "{password}"
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: {REGION}
    identity_api_version: 3
    interface: public
"""


def service_env(layout: Layout) -> dict[str, str]:
    """Environment for every child: where each service finds its config."""
    e = layout.etc
    env = dict(os.environ)
    for k in ("OS_CLOUD", "OS_CLIENT_CONFIG_FILE", "PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(k, None)
    env.update(
        PYTHONWARNINGS="ignore",
        PATH=f"{layout.venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}",
        OS_KEYSTONE_CONFIG_DIR=str(e / "keystone"),
        OS_KEYSTONE_CONFIG_FILES="keystone.conf",
        OS_NEUTRON_CONFIG_DIR=str(e / "neutron"),
        OS_NEUTRON_CONFIG_FILES="neutron.conf;plugins/ml2/ml2_conf.ini",
        OS_PLACEMENT_CONFIG_DIR=str(e / "placement"),
        OS_GLANCE_CONFIG_DIR=str(e / "glance"),
        OS_NOVA_CONFIG_DIR=str(e / "nova"),
        OS_NOVA_CONFIG_FILES="api-paste.ini;nova.conf;nova-api.conf",
        ERL_EPMD_ADDRESS=HOST,
        ERL_EPMD_PORT=str(EPMD_PORT),
    )
    return env


def service_command(layout: Layout, svc: Service, profile: Profile = "minimal") -> list[str]:
    """argv for a venv service (wsgi or proc kinds)."""
    if svc.kind == "wsgi":
        workers = 2 if svc.name == "neutron" and profile == "full" else 1  # see db_url
        return [
            str(layout.bin("gunicorn")),
            "--chdir",
            str(layout.wsgi),
            "-b",
            f"{HOST}:{svc.port}",
            "-w",
            str(workers),
            "--threads",
            str(svc.threads),
            "--timeout",
            "120",
            "--no-control-socket",
            f"{svc.module}:application",
        ]
    if svc.kind == "proc":
        project = svc.name.split("-", 1)[0]
        conf = layout.etc / project / f"{project}.conf"
        return [
            str(layout.bin(svc.name)),
            "--config-file",
            str(conf),
            "--log-file",
            str(layout.service_log(svc.name)),
        ]
    raise ValueError(f"{svc.name}: not a venv service")
