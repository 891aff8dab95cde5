"""Paths of the monitoring stack and small loaders shared by its tests, the compose file's
definitions read as Compose reads them among them.

A missing tool (promtool, prometheus, check-jsonschema) fails the test that needs it, loudly.
"""
import json
import os
import re
import shutil
from collections import namedtuple
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROVISIONING = ROOT / "provisioning"
PROMETHEUS_YML = PROVISIONING / "prometheus" / "prometheus.yml"
ALERTS_YML = PROVISIONING / "prometheus" / "alerts.yml"
ALERTS_TEST_YML = Path(__file__).resolve().parent / "rules" / "alerts_test.yml"
COMPOSE = ROOT / "docker-compose.monitoring.yml"
DASHBOARDS = ROOT / "dashboards"
SAMPLES = Path(__file__).resolve().parent / "samples"


def require_tool(name):
    path = shutil.which(name)
    assert path, f"`{name}` is not installed: the monitoring tests need it (see tests/run-all.sh)"
    return path


def load_yaml(path):
    return yaml.safe_load(Path(path).read_text())


def load_dashboards():
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


Mount = namedtuple("Mount", "kind source target read_only subpath")

INTERPOLATION = re.compile(r"\$(?:\{(\w+)(:?-)?([^}]*)\}|([A-Za-z_]\w*)|\$)")


def interpolate(value, host_env=os.environ):
    """Compose's interpolation of a definition: ${VAR}, ${VAR:-default}, ${VAR-default}, $VAR
    from the host's environment; `$$` is a literal `$`."""
    if isinstance(value, (dict, list)):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        done = {k: interpolate(v, host_env) for k, v in items}
        return done if isinstance(value, dict) else list(done.values())
    if not isinstance(value, str):
        return value

    def substitute(m):
        name, op, default = m.group(1) or m.group(4), m.group(2), m.group(3)
        if name is None:
            return "$"
        found = host_env.get(name)
        return default if op == ":-" and not found or op == "-" and found is None else found or ""
    return INTERPOLATION.sub(substitute, value)


def environment(service, host_env=os.environ):
    """The service's `environment` (a map, or a list of KEY=VALUE; a bare KEY or a null value
    takes the host's value, or is left out), as strings."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    env = {k: host_env.get(k) if v is None else v for k, v in env.items()}
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in env.items() if v is not None}


def volumes(service):
    """Each volume of the service as a Mount: kind bind, or volume (named; anonymous: no source)."""
    for v in service.get("volumes", []):
        if isinstance(v, dict):
            subpath = (v.get("volume") or {}).get("subpath")
            yield Mount(v["type"], v.get("source"), v["target"], bool(v.get("read_only")), subpath)
            continue
        parts = v.split(":")
        source, target = (None, parts[0]) if len(parts) == 1 else parts[:2]
        kind = "bind" if source and source.startswith((".", "/", "~")) else "volume"
        yield Mount(kind, source, target, "ro" in (parts[2:] or [""])[0].split(","), None)


def bind_mounts(compose):
    """(service, host path, container path) of every bind mount."""
    return [(name, m.source, m.target) for name, service in compose["services"].items()
            for m in volumes(service) if m.kind == "bind"]


def depends_on(service):
    """{dependency: condition}; the short syntax (a list) means service_started."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {dep: "service_started" for dep in deps}
    return {dep: (spec or {}).get("condition", "service_started") for dep, spec in deps.items()}


def seconds(value):
    """A compose or Prometheus duration ("1m30s", "500ms", "10s") in seconds; anything else fails."""
    units = {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)", str(value))
    assert parts and "".join(n + u for n, u in parts) == str(value), f"not a duration: {value!r}"
    return sum(float(n) * units[u] for n, u in parts)
