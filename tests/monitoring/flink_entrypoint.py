"""The configuration step of the Flink image's entrypoint (flink-docker's docker-entrypoint.sh of
2.0, `prepare_configuration`), emulated step by step, with Flink's own BashJavaUtils doing what
config-parser-utils.sh has it do: read conf/config.yaml, apply `-Dkey=value` options, and write
the result back as config.yaml.

What the image does with FLINK_PROPERTIES, and so what this does: each line loses *all* its
whitespace (`tr -d '[:space:]'`), empty lines are skipped, the rest is split at its first ':' into
key and value, and the value goes through envsubst. Nothing skips comments: a `# ...` line
becomes a key of its own, and a value with spaces loses them."""
import re
import subprocess
import zipfile
from pathlib import Path

from compose_native import native_file
from stack import ROOT

FLINK = ROOT / ".cache/flink"
WHEEL_JAR = "pyflink/bin/bash-java-utils.jar"  # the bin/ jar of the distribution, in the wheel
RESULT = "BASH_JAVA_UTILS_EXEC_RESULT:"


def envsubst(text, env):
    """GNU envsubst: $NAME and ${NAME} replaced by the variable, empty when unset."""
    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", lambda m: env.get(m.group(1) or m.group(2), ""), text)


def flink_properties(text, env):
    """FLINK_PROPERTIES as the image's process_flink_properties turns it into options."""
    options = []
    for line in text.split("\n"):
        prop = re.sub(r"\s", "", line)
        if prop:
            key, _, value = prop.partition(":")
            options.append((key, envsubst(value, env)))
    return options


def base_options(env, hostname):
    """The options prepare_configuration sets before FLINK_PROPERTIES."""
    options = [("jobmanager.rpc.address", env.get("JOB_MANAGER_RPC_ADDRESS") or hostname),
               ("blob.server.port", "6124"), ("query.server.port", "6125")]
    if env.get("TASK_MANAGER_NUMBER_OF_TASK_SLOTS"):
        options.append(("taskmanager.numberOfTaskSlots", env["TASK_MANAGER_NUMBER_OF_TASK_SLOTS"]))
    return options


def java():
    """Debian's Java 17, as the Confluent images' stand-ins run (compose_images)."""
    return native_file("/usr/lib/jvm/java-17-openjdk-*/bin/java")


def classpath(workdir):
    """bash-java-utils.jar (taken out of the wheel fetch-flink.sh keeps) and flink-dist."""
    jar = Path(workdir) / "bash-java-utils.jar"
    if not jar.exists():
        wheel = next(FLINK.glob("apache_flink_libraries-*.whl"), None)
        assert wheel, f"no Flink wheel in {FLINK}: run tests/flink/fetch-flink.sh"
        jar.write_bytes(zipfile.ZipFile(wheel).read(WHEEL_JAR))
    dist = next((FLINK / "lib").glob("flink-dist-*.jar"), None)
    assert dist, f"no flink-dist jar in {FLINK / 'lib'}"
    return f"{jar}:{dist}"


def set_config_options(conf_dir, options, workdir):
    """config-parser-utils.sh: BashJavaUtils UPDATE_AND_GET_FLINK_CONFIGURATION, its result lines
    written over config.yaml."""
    if not options:
        return
    argv = [java(), "-classpath", classpath(workdir), "org.apache.flink.runtime.util.bash.BashJavaUtils",
            "UPDATE_AND_GET_FLINK_CONFIGURATION", "--configDir", str(conf_dir),
            *(f"-D{key}={value}" for key, value in options)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    lines = [line[len(RESULT):] for line in (out.stdout + out.stderr).splitlines() if line.startswith(RESULT)]
    assert out.returncode == 0 and lines, f"BashJavaUtils failed ({out.returncode}):\n{out.stdout}{out.stderr}"
    (Path(conf_dir) / "config.yaml").write_text("\n".join(lines) + "\n")


def prepare_configuration(conf_dir, env, hostname, workdir):
    """The image's prepare_configuration: its own options, then FLINK_PROPERTIES' (two passes)."""
    set_config_options(conf_dir, base_options(env, hostname), workdir)
    if env.get("FLINK_PROPERTIES"):
        set_config_options(conf_dir, flink_properties(env["FLINK_PROPERTIES"], env), workdir)
