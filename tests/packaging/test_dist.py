"""The built plugin directories, checked the way Grafana will read them.

Needs `cargo xtask dist` to have run (tests/run-all.sh does it first).
"""
import copy
import json
import os
import stat
import zipfile
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
SCHEMA_PATH = ROOT.parent / "shared" / "schemas" / "grafana-plugin.schema.json"
DATASOURCE = "pipelinehealth-kafkaflink-datasource"
PANEL = "pipelinehealth-topology-panel"


@pytest.fixture(scope="module")
def validator():
    assert SCHEMA_PATH.exists(), f"Grafana's plugin.json schema is missing at {SCHEMA_PATH}"
    schema = json.loads(SCHEMA_PATH.read_text())
    # Grafana's schema uses `\%` in patterns, which the draft metaschema's strict regex format
    # rejects; the patterns themselves are valid for Python's re, so validate instances directly.
    return jsonschema.Draft7Validator(schema)


def manifest(plugin_id):
    path = DIST / plugin_id / "plugin.json"
    assert path.exists(), f"{path} missing: run `cargo xtask dist` first"
    return json.loads(path.read_text())


@pytest.mark.parametrize("plugin_id", [DATASOURCE, PANEL])
def test_plugin_json_is_valid_against_grafanas_schema(validator, plugin_id):
    doc = manifest(plugin_id)
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(doc)]
    assert errors == []
    assert doc["id"] == plugin_id
    assert "%VERSION%" not in json.dumps(doc) and "%TODAY%" not in json.dumps(doc)


def test_the_validator_rejects_a_broken_manifest(validator):
    doc = copy.deepcopy(manifest(DATASOURCE))
    doc["id"] = "Pipeline_Health"
    del doc["info"]["logos"]
    messages = " ".join(e.message for e in validator.iter_errors(doc))
    assert "logos" in messages and "Pipeline_Health" in messages


def test_datasource_declares_backend_alerting_streaming_and_its_executable():
    doc = manifest(DATASOURCE)
    assert doc["type"] == "datasource"
    assert doc["backend"] is True and doc["alerting"] is True
    # Live queries stream over Grafana Live (backend/src/live.rs).
    assert doc["streaming"] is True
    binary = DIST / DATASOURCE / f"{doc['executable']}_linux_amd64"
    assert binary.exists(), f"Grafana looks for {binary.name} next to plugin.json"
    assert os.stat(binary).st_mode & stat.S_IXUSR, "the backend binary must be executable"


@pytest.mark.parametrize("plugin_id", [DATASOURCE, PANEL])
def test_directory_has_what_grafana_and_the_catalog_expect(plugin_id):
    d = DIST / plugin_id
    doc = manifest(plugin_id)
    for name in ["module.js", "README.md", "CHANGELOG.md", "LICENSE", doc["info"]["logos"]["small"]]:
        assert (d / name).is_file(), f"{plugin_id} lacks {name}"
    module = (d / "module.js").read_text()
    assert module.startswith("define("), "module.js must be an AMD module for Grafana's loader"


def test_panel_ships_its_wasm():
    wasm = list((DIST / PANEL).glob("*.wasm"))
    assert len(wasm) == 1
    assert wasm[0].read_bytes()[:4] == b"\0asm"


@pytest.mark.parametrize("plugin_id", [DATASOURCE, PANEL])
def test_zip_has_the_plugin_folder_on_top_and_keeps_the_exec_bit(plugin_id):
    version = manifest(plugin_id)["info"]["version"]
    archive = DIST / f"{plugin_id}-{version}.zip"
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        assert all(n.startswith(f"{plugin_id}/") for n in names), names
        assert f"{plugin_id}/plugin.json" in names
        for info in z.infolist():
            if "gpx_" in info.filename:
                assert (info.external_attr >> 16) & stat.S_IXUSR, info.filename
