"""devcloud: config rendering, directory resolution, site planning (pure, fast)."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest
import yaml

from cgcloud.devcloud import site
from cgcloud.devcloud.config import (
    DIR_ENV,
    SERVICES,
    Layout,
    render_clouds_yaml,
    render_configs,
    render_wsgi_modules,
    resolve_dir,
    service_command,
    services_for,
)

ZONES = Path(__file__).resolve().parents[1] / "integration" / "data" / "zones.yaml"


def test_profiles_list_services_in_start_order() -> None:
    assert [s.name for s in services_for("minimal")] == ["keystone", "neutron"]
    full = [s.name for s in services_for("full")]
    assert full[:2] == ["postgres", "rabbitmq"] and "cinder-volume" in full
    assert len({s.port for s in SERVICES if s.port}) == len([s for s in SERVICES if s.port])


def test_every_conf_parses_and_listens_on_loopback_only(tmp_path: Path) -> None:
    files = render_configs(Layout(tmp_path), "full", "pw-x")
    assert {p.name for p in files} >= {
        "keystone.conf",
        "neutron.conf",
        "ml2_conf.ini",
        "nova.conf",
        "cinder.conf",
        "placement.conf",
        "glance-api.conf",
        "rabbitmq.conf",
        "clouds.yaml",
    }
    for path, text in files.items():
        assert "0.0.0.0" not in text and "localhost:" not in text, path
        for host in re.findall(
            r"(?:https?|rabbit|postgresql\+psycopg2)://[^/\s]*?@?([\d.]+):", text
        ):
            assert host == "127.0.0.1", (path, host)
        if path.suffix in (".conf", ".ini") and "rabbitmq" not in str(path):
            cp = configparser.ConfigParser(interpolation=None, strict=False)
            cp.read_string(text)
            assert cp.sections() or cp.defaults(), path


def test_databases_sqlite_vs_postgres(tmp_path: Path) -> None:
    files = {p.name: t for p, t in render_configs(Layout(tmp_path), "full", "pw").items()}
    assert "postgresql+psycopg2://postgres@127.0.0.1:35432/neutron" in files["neutron.conf"]
    minimal_neutron = {
        p.name: t for p, t in render_configs(Layout(tmp_path), "minimal", "pw").items()
    }["neutron.conf"]
    assert f"connection = sqlite:///{tmp_path}/data/neutron.db" in minimal_neutron
    assert f"connection = sqlite:///{tmp_path}/data/keystone.db" in files["keystone.conf"]
    assert "postgresql+psycopg2://postgres@127.0.0.1:35432/nova_api" in files["nova.conf"]
    assert "postgresql+psycopg2://postgres@127.0.0.1:35432/cinder" in files["cinder.conf"]
    assert "postgresql+psycopg2://postgres@127.0.0.1:35432/placement" in files["placement.conf"]
    minimal = render_configs(Layout(tmp_path), "minimal", "pw")
    assert {p.name for p in minimal} == {
        "keystone.conf",
        "neutron.conf",
        "ml2_conf.ini",
        "clouds.yaml",
        "policy.yaml",
        "00-defaults.yaml",
    }


def test_settings_that_keep_the_devcloud_fast(tmp_path: Path) -> None:
    """Keystone caches (Nova's quota GET asks Keystone for the project: 128 → 16 ms), and
    Neutron's policy files exist where its config says (else oslo.policy searches the
    config dirs on every check). benchmarks/README.md has the measurements."""
    files = render_configs(Layout(tmp_path), "minimal", "pw")
    by_name = {p.name: t for p, t in files.items()}
    ks = configparser.ConfigParser(interpolation=None, strict=False)
    ks.read_string(by_name["keystone.conf"])
    assert ks.getboolean("cache", "enabled") and ks.get("cache", "backend")
    neutron = configparser.ConfigParser(interpolation=None, strict=False)
    neutron.read_string(by_name["neutron.conf"])
    policy_file = Path(neutron.get("oslo_policy", "policy_file"))
    policy_dir = Path(neutron.get("oslo_policy", "policy_dirs"))
    assert policy_file.is_absolute() and policy_file in files
    assert policy_dir.is_absolute() and any(p.parent == policy_dir for p in files)
    assert all(
        files[p].strip().endswith("{}")
        for p in files
        if p.suffix == ".yaml" and "neutron" in p.parts
    )


def test_neutron_needs_no_rabbitmq_and_binds_every_port(tmp_path: Path) -> None:
    files = {p.name: t for p, t in render_configs(Layout(tmp_path), "minimal", "pw").items()}
    assert "transport_url = fake:/" in files["neutron.conf"]
    assert "mechanism_drivers = bind_all" in files["ml2_conf.ini"]


def test_clouds_yaml_has_the_devcloud_admin_cloud() -> None:
    doc = yaml.safe_load(render_clouds_yaml("s3cr:et"))
    cloud = doc["clouds"]["devcloud"]
    assert cloud["auth"]["auth_url"] == "http://127.0.0.1:15000/v3"
    assert cloud["auth"]["password"] == "s3cr:et"
    assert cloud["auth"]["username"] == "admin"


def test_wsgi_modules_hide_gunicorn_argv(tmp_path: Path) -> None:
    mods = render_wsgi_modules(Layout(tmp_path))
    ks = mods[tmp_path / "wsgi" / "keystone_app.py"]
    assert "sys.argv = sys.argv[:1]" in ks and "from keystone.wsgi.api import application" in ks
    compile(mods[tmp_path / "wsgi" / "cinder_app.py"], "cinder_app.py", "exec")


def test_service_commands_bind_loopback(tmp_path: Path) -> None:
    lay = Layout(tmp_path)
    neutron = service_command(lay, next(s for s in SERVICES if s.name == "neutron"))
    assert neutron[neutron.index("-w") + 1] == "1"  # minimal: SQLite takes one writer
    full = service_command(lay, next(s for s in SERVICES if s.name == "neutron"), "full")
    assert full[full.index("-w") + 1] == "2"  # full: PostgreSQL takes concurrent writers
    assert neutron[neutron.index("-b") + 1] == "127.0.0.1:19696"
    compute = service_command(lay, next(s for s in SERVICES if s.name == "nova-compute"))
    assert compute[0].endswith("venv/bin/nova-compute")
    assert str(tmp_path / "etc/nova/nova.conf") in compute


def test_resolve_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DIR_ENV, raising=False)
    assert resolve_dir() == Path("~/.cache/cgcloud/devcloud").expanduser().resolve()
    monkeypatch.setenv(DIR_ENV, str(tmp_path / "env"))
    assert resolve_dir() == tmp_path / "env"
    assert resolve_dir(tmp_path / "opt") == tmp_path / "opt"


def test_site_plan_from_the_spec_zones() -> None:
    plan = site.plan_site(site.load_zones(ZONES))
    nets = {n.name: n for n in plan.networks}
    assert set(nets) == {"zone-gov", "zone-internet", "zone-gov-backbone", "zone-public"}
    assert nets["zone-gov"].subnets == (("zone-gov", "172.21.0.0/16"),)
    assert not nets["zone-gov"].external and nets["zone-gov-backbone"].external
    assert nets["zone-gov-backbone"].subnets[0][1] == "10.0.0.0/8"
    assert nets["zone-public"].subnets[0][1] == "203.0.113.0/24"
    assert [(r.name, r.internal_net, r.external_net) for r in plan.routers] == [
        ("router-internet-public", "zone-internet", "zone-public"),
        ("router-gov-gov-backbone", "zone-gov", "zone-gov-backbone"),
    ]
    assert [(b.name, b.address) for b in plan.bastions] == [
        ("bastion-internet", "172.20.0.10"),
        ("bastion-gov", "172.21.0.10"),
    ]
    assert plan.warnings == []


def test_site_plan_warns_instead_of_guessing() -> None:
    zones = site.parse_zones(
        {
            "zones": [
                {"id": "a", "name": "A", "internal": True, "cidrs": ["10.1.0.0/24", "10.2.0.0/24"]},
                {"id": "x", "name": "X", "internal": False},
            ],
            "default_egress": [["a", "x"]],
            "bastions": [
                {"zone": "a", "address": "10.9.9.9"},
                {"zone": "a", "address": "10.2.0.5"},
            ],
        }
    )
    plan = site.plan_site(zones)
    assert [n.name for n in plan.networks] == ["zone-a"]
    assert plan.networks[0].subnets == (("zone-a", "10.1.0.0/24"), ("zone-a-1", "10.2.0.0/24"))
    assert plan.routers == []
    assert [(b.subnet, b.address) for b in plan.bastions] == [("zone-a-1", "10.2.0.5")]
    assert len(plan.warnings) == 3  # x has no CIDR, so no router; 10.9.9.9 outside


def test_load_zones_picks_the_zones_document(tmp_path: Path) -> None:
    f = tmp_path / "multi.yaml"
    f.write_text(
        "apiVersion: cgcloud/v1\nkind: HighRiskPorts\nports: []\n---\n"
        + ZONES.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    assert len(site.load_zones(f).zones) == 5
    (tmp_path / "none.yaml").write_text("kind: Roster\n")
    with pytest.raises(ValueError, match="no `kind: Zones`"):
        site.load_zones(tmp_path / "none.yaml")
