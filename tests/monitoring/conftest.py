"""Fixtures of the monitoring-stack tests (paths and loaders live in stack.py)."""
import pytest

from stack import ALERTS_YML, COMPOSE, PROMETHEUS_YML, load_dashboards, load_yaml


@pytest.fixture(scope="session")
def prometheus_config():
    return load_yaml(PROMETHEUS_YML)


@pytest.fixture(scope="session")
def alert_rules():
    groups = load_yaml(ALERTS_YML)["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


@pytest.fixture(scope="session")
def compose():
    return load_yaml(COMPOSE)


@pytest.fixture(scope="session")
def dashboards():
    return load_dashboards()
