"""What each Flink service of docker-compose.monitoring.yml starts with: its FLINK_PROPERTIES put
into conf/config.yaml the way the Flink image's entrypoint does (flink_entrypoint.py), by Flink's
own BashJavaUtils (2.3's, from the wheel the test command fetches, for the image's 2.0: the same
standard-YAML path). The config must hold exactly what the FLINK_PROPERTIES block says, read as
YAML: the image's line handling (all whitespace removed, split at the first ':', no comments)
must not add, drop or change a setting.

Not proven here: the JobManager and TaskManager JVMs started from that config (the bed runs Flink
natively from its own); the image's default config.yaml (an empty one stands in: every key the
demo relies on is set by the block or the entrypoint)."""
import pytest
import yaml

import flink_entrypoint
from stack import environment

SERVICES = ["flink-jobmanager", "flink-taskmanager"]


def flattened(tree, prefix=""):
    """A nested YAML map as Flink's flat keys ({"a": {"b": 1}} -> {"a.b": "1"})."""
    flat = {}
    for key, value in (tree or {}).items():
        name = f"{prefix}{key}"
        flat.update(flattened(value, f"{name}.") if isinstance(value, dict) else {name: str(value)})
    return flat


def written_config(tmp_path, env, hostname):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "config.yaml").write_text("")
    flink_entrypoint.prepare_configuration(conf, env, hostname, tmp_path)
    return flattened(yaml.safe_load((conf / "config.yaml").read_text()))


@pytest.mark.parametrize("name", SERVICES)
def test_the_config_holds_exactly_what_flink_properties_says(compose, tmp_path, name):
    env = environment(compose["services"][name])
    meant = flattened(yaml.safe_load(env["FLINK_PROPERTIES"]))
    config = written_config(tmp_path, env, hostname=name)
    image_own = {"jobmanager.rpc.address": name, "blob.server.port": "6124", "query.server.port": "6125"}
    assert config == {**image_own, **meant}
    # What the demo needs of it: the JobManager's address, the shared checkpoints, the agent.
    assert config["jobmanager.rpc.address"] == "flink-jobmanager"
    assert config["execution.checkpointing.dir"] == "file:///flink-checkpoints"
    role = name.removeprefix("flink-")
    assert config[f"env.java.opts.{role}"].startswith("-javaagent:/jars/jmx/jmx_prometheus_javaagent.jar=7071:")


def test_a_comment_or_a_spaced_value_in_flink_properties_would_not_survive(compose, tmp_path):
    """Why the block holds neither: the image makes a comment line a key of its own (its text
    up to a ':' the key, the rest its value) and takes the spaces out of a value."""
    env = environment(compose["services"]["flink-jobmanager"])
    env["FLINK_PROPERTIES"] += "# Shared: a note\nenv.java.opts.all: -Xss2m -Dx=1\n"
    config = written_config(tmp_path, env, hostname="flink-jobmanager")
    assert config["#Shared"] == "anote"
    assert config["env.java.opts.all"] == "-Xss2m-Dx=1"


def test_envsubst_and_the_line_rules_are_the_images():
    env = {"HOST": "jm", "EMPTY": ""}
    # (spaces go before envsubst: `$UNSET x` is the variable UNSETx)
    text = "a.b: ${HOST}:8081\n\n  c : ${EMPTY}x $UNSET y\n"
    assert flink_entrypoint.flink_properties(text, env) == [("a.b", "jm:8081"), ("c", "x")]
