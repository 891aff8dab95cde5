"""Paths of the monitoring stack and small loaders shared by its tests.

A missing tool (promtool, prometheus, check-jsonschema) fails the test that needs it, loudly.
"""
import json
import shutil
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

