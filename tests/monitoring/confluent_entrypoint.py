"""The programs of Confluent Platform's cp-kafka and cp-zookeeper 7.7.1 images, natively: what
compose_images.IMAGES puts on their PATH, each run as `confluent_entrypoint.py <rootfs> <program>
<args>` (`rootfs`: the container's root folder, under which the image's folders are).

Followed from confluentinc/kafka-images v7.7.1 and Confluent's kafka-run-class:
- `run` (the image's CMD, /etc/confluent/docker/run): configure, ensure, launch.
- configure: cp-kafka requires KAFKA_ZOOKEEPER_CONNECT and KAFKA_ADVERTISED_LISTENERS (ZooKeeper
  mode: no KAFKA_PROCESS_ROLES), derives KAFKA_LISTENERS from the advertised ones when unset,
  defaults KAFKA_LOG_DIRS to /var/lib/kafka/data, and turns every KAFKA_* variable but the
  template's exclusions into /etc/kafka/kafka.properties (prefix removed, lower-cased, `___` -> `-`,
  `__` -> `_`, `_` -> `.`); cp-zookeeper writes /etc/kafka/zookeeper.properties from its table of
  ZOOKEEPER_* variables (dataDir /var/lib/zookeeper/data, dataLogDir /var/lib/zookeeper/log).
  Both write /etc/kafka/log4j.properties (stdout) and tools-log4j.properties (stderr).
- ensure: the data folders writable; cp-kafka then `cub zk-ready`, a JVM given KAFKA_OPTS.
- launch: the default KAFKA_JMX_OPTS, then `<component>-server-start` of the properties.
- kafka-run-class: `java $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS $KAFKA_GC_LOG_OPTS
  $KAFKA_JMX_OPTS $KAFKA_LOG4J_OPTS -cp <jars> $KAFKA_OPTS <class> <args>`, for the servers and
  every tool alike: KAFKA_OPTS reaches every JVM started in the container.
Not emulated (told, with exit code 1): KRaft, SSL and SASL listeners, ZooKeeper ensembles.
"""
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

# The confluent-kafka package's /usr/share/java/kafka: Kafka 3.7.1 and its ZooKeeper 3.8.4, which
# cp-zookeeper runs too.
CLASSPATH = str(Path(__file__).resolve().parents[2] / ".cache/bed/jars/kafka") + "/*"
# KAFKA_HEAP_OPTS and KAFKA_LOG4J_OPTS become properties too: the 7.7.1 template has no comma
# between them, so its list holds the two names joined into one.
EXCLUDED = {"KAFKA_VERSION", "KAFKA_HEAP_OPTSKAFKA_LOG4J_OPTS", "KAFKA_OPTS", "KAFKA_JMX_OPTS",
            "KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_GC_LOG_OPTS", "KAFKA_LOG4J_ROOT_LOGLEVEL",
            "KAFKA_LOG4J_LOGGERS", "KAFKA_TOOLS_LOG4J_LOGLEVEL", "KAFKA_ZOOKEEPER_CLIENT_CNXN_SOCKET"}
OTHER_KAFKA_PROPS = {"KAFKA_ZOOKEEPER_CLIENT_CNXN_SOCKET": "zookeeper.clientCnxnSocket"}
# The standalone part of cp-zookeeper's table; the image ignores ZOOKEEPER_* variables it does not
# list, and this refuses those it does not emulate.
ZOOKEEPER_PROPS = {
    "CLIENT_PORT": "clientPort", "TICK_TIME": "tickTime", "INIT_LIMIT": "initLimit",
    "SYNC_LIMIT": "syncLimit", "MAX_CLIENT_CNXNS": "maxClientCnxns",
    "CLIENT_PORT_ADDRESS": "clientPortAddress", "MIN_SESSION_TIMEOUT": "minSessionTimeout",
    "MAX_SESSION_TIMEOUT": "maxSessionTimeout", "SNAP_COUNT": "snapCount",
    "AUTOPURGE_SNAP_RETAIN_COUNT": "autopurge.snapRetainCount",
    "AUTOPURGE_PURGE_INTERVAL": "autopurge.purgeInterval", "ADMIN_ENABLE_SERVER": "admin.enableServer",
    "ADMIN_SERVER_PORT": "admin.serverPort", "JUTE_MAX_BUFFER": "jute.maxbuffer",
}
ZOOKEEPER_OTHER = {"LOG4J_ROOT_LOGLEVEL", "TOOLS_LOG4J_LOGLEVEL", "SASL_ENABLED"}  # read elsewhere
# The defaults of the image's launch and of kafka-run-class (local JMX only: no port).
LAUNCH_JMX_OPTS = ("-Dcom.sun.management.jmxremote=true -Dcom.sun.management.jmxremote.authenticate=false  "
                   "-Dcom.sun.management.jmxremote.ssl=false ")
RUN_CLASS_JMX_OPTS = LAUNCH_JMX_OPTS.replace("jmxremote=true", "jmxremote")
PERFORMANCE_OPTS = ("-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 "
                    "-XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true")
# component -> (main class, its start script's heap, its -name)
SERVERS = {"kafka": ("kafka.Kafka", "-Xmx1G -Xms1G", "kafkaServer"),
           "zookeeper": ("org.apache.zookeeper.server.quorum.QuorumPeerMain", "-Xmx512M -Xms512M", "zookeeper")}
# The tool scripts on the image's PATH (those the compose file and its tests run), as in Kafka 3.7.
TOOLS = {"kafka-broker-api-versions": ["kafka.admin.BrokerApiVersionsCommand"],
         "kafka-topics": ["org.apache.kafka.tools.TopicCommand"],
         "kafka-get-offsets": ["org.apache.kafka.tools.GetOffsetShell"],
         "zookeeper-shell": ["org.apache.zookeeper.ZooKeeperMainWithTlsSupportForKafka", "-server"]}
# cp-kafka's log4j.properties loggers (ZOOKEEPER_LOG4J_LOGGERS is refused: not emulated).
KAFKA_LOGGERS = {"kafka": "INFO", "kafka.network.RequestChannel$": "WARN",
                 "kafka.producer.async.DefaultEventHandler": "DEBUG", "kafka.request.logger": "WARN",
                 "kafka.controller": "TRACE", "kafka.log.LogCleaner": "INFO", "state.change.logger": "TRACE",
                 "kafka.authorizer.logger": "WARN"}
LOG4J = "log4j.rootLogger={level}, {name}\nlog4j.appender.{name}=org.apache.log4j.ConsoleAppender\n" \
        "log4j.appender.{name}.layout=org.apache.log4j.PatternLayout\n" \
        "log4j.appender.{name}.layout.ConversionPattern=[%d] %p %m (%c)%n\n"


class Refused(Exception):
    """What the image's scripts would stop at (`dub ensure`, `dub path`), or this does not emulate."""


def env_to_props(env, prefix, exclude=()):
    """dub's env_to_props: `_` -> `.`, then `___` -> `-` and `__` -> `_`, lower-cased."""
    props = {}
    for name, value in env.items():
        if name.startswith(prefix) and name not in exclude:
            raw = re.sub(r"(?<!_)_(?!_)", ".", name[len(prefix):].lower())
            props[raw.replace("___", "-").replace("__", "_")] = value
    return props


def ensure(env, name):
    if not env.get(name):
        raise Refused(f"{name} is required.")


def writable(path):
    if not os.access(path, os.W_OK):
        raise Refused(f"{path} is not writable.")


def write_properties(path, props):
    Path(path).write_text("".join(f"{k}={v}\n" for k, v in props.items()))


def kafka_properties(at, env):
    """cp-kafka's configure: kafka.properties, from the environment (its exports its own)."""
    env, listeners = dict(env), env.get("KAFKA_ADVERTISED_LISTENERS", "")
    if env.get("KAFKA_PROCESS_ROLES") or "SSL://" in listeners or re.search("SASL_.*://", listeners):
        raise Refused("KRaft, SSL and SASL are not emulated")
    print("Running in Zookeeper mode...", flush=True)
    ensure(env, "KAFKA_ZOOKEEPER_CONNECT")
    ensure(env, "KAFKA_ADVERTISED_LISTENERS")
    if not env.get("KAFKA_LISTENERS"):  # cub listeners: each advertised host made 0.0.0.0
        env["KAFKA_LISTENERS"] = re.sub(r"://[^,]*:", "://0.0.0.0:", listeners)
    writable(at("/etc/kafka/"))
    env["KAFKA_LOG_DIRS"] = env.get("KAFKA_LOG_DIRS") or at("/var/lib/kafka/data")
    for old in ("KAFKA_ADVERTISED_PORT", "KAFKA_ADVERTISED_HOST", "KAFKA_HOST", "KAFKA_PORT"):
        if env.get(old):
            raise Refused(f"{old} is deprecated. Please use KAFKA_ADVERTISED_LISTENERS instead.")
    props = env_to_props(env, "KAFKA_", EXCLUDED)
    props.update({p: env[k] for k, p in OTHER_KAFKA_PROPS.items() if k in env})
    props.update({"confluent.support." + k: v for k, v in env_to_props(env, "CONFLUENT_SUPPORT_").items()})
    return props


def zookeeper_properties(at, env):
    """cp-zookeeper's configure: zookeeper.properties, from its table."""
    names = {k[len("ZOOKEEPER_"):] for k in env if k.startswith("ZOOKEEPER_")}
    if unknown := sorted(names - set(ZOOKEEPER_PROPS) - ZOOKEEPER_OTHER):
        raise Refused("not emulated: " + ", ".join("ZOOKEEPER_" + name for name in unknown))
    if "CLIENT_PORT" not in names:
        raise Refused("at least one of ZOOKEEPER_CLIENT_PORT, ZOOKEEPER_SECURE_CLIENT_PORT is required.")
    writable(at("/etc/kafka/"))
    props = {"dataDir": at("/var/lib/zookeeper/data"), "dataLogDir": at("/var/lib/zookeeper/log")}
    return {**props, **{p: env["ZOOKEEPER_" + k] for k, p in ZOOKEEPER_PROPS.items() if "ZOOKEEPER_" + k in env}}


def write_tools_log4j(at, level):
    Path(at("/etc/kafka/tools-log4j.properties")).write_text(
        LOG4J.format(level=level, name="stderr") + "log4j.appender.stderr.Target=System.err\n")


def configure(at, env):
    """The image's configure, then its ensure."""
    component = env["COMPONENT"]
    props = kafka_properties(at, env) if component == "kafka" else zookeeper_properties(at, env)
    write_properties(at(f"/etc/kafka/{component}.properties"), props)
    prefix, loggers = component.upper(), dict(KAFKA_LOGGERS if component == "kafka" else {})
    if component == "kafka":  # KAFKA_LOG4J_LOGGERS: `logger=LEVEL,...` over the image's own
        pairs = (item.partition("=") for item in env.get("KAFKA_LOG4J_LOGGERS", "").split(",") if item)
        loggers.update({name.strip(): level.strip() for name, _, level in pairs})
    Path(at("/etc/kafka/log4j.properties")).write_text(
        LOG4J.format(level=env.get(f"{prefix}_LOG4J_ROOT_LOGLEVEL", "INFO"), name="stdout")
        + "".join(f"log4j.logger.{name}={level}\n" for name, level in loggers.items()))
    write_tools_log4j(at, env.get(f"{prefix}_TOOLS_LOG4J_LOGLEVEL", "WARN"))
    print("===> Running preflight checks ... ", flush=True)
    if component == "kafka":
        writable(env.get("KAFKA_DATA_DIRS") or at("/var/lib/kafka/data"))
        zk_ready(env, env["KAFKA_ZOOKEEPER_CONNECT"], int(env.get("KAFKA_CUB_ZK_TIMEOUT", "40")))
    else:
        writable(at("/var/lib/zookeeper/data"))
        writable(at("/var/lib/zookeeper/log"))


def zk_ready(env, connect, timeout):
    """`cub zk-ready`: a JVM (with KAFKA_OPTS, as cub passes it) that waits for a ZooKeeper session;
    ZooKeeper's own shell here, in place of cub's ZookeeperReadyCommand."""
    print("===> Check if Zookeeper is healthy ...", flush=True)
    opts = env.get("KAFKA_OPTS", "") if env.get("ZOOKEEPER_SASL_ENABLED", "").upper() != "FALSE" else ""
    done = subprocess.run(["java", *opts.split(), "-cp", CLASSPATH, "org.apache.zookeeper.ZooKeeperMain",
                           "-server", connect, "-timeout", str(timeout * 1000), "-waitforconnection", "ls", "/"],
                          stdin=subprocess.DEVNULL, timeout=timeout + 30)
    if done.returncode != 0:
        raise Refused(f"ZooKeeper {connect} not ready within {timeout} s")


def run(at, args):
    """/etc/confluent/docker/run: KEY=VALUE arguments exported (cp-kafka), configure, ensure, launch."""
    env = os.environ
    for assignment in args if env["COMPONENT"] == "kafka" else ():
        name, _, value = assignment.partition("=")
        env[name] = value
    print(f"===> User\nuid={os.getuid()} gid={os.getgid()}\n===> Configuring ...", flush=True)
    configure(at, env)
    print("===> Launching ... ", flush=True)
    env["KAFKA_JMX_OPTS"] = env.get("KAFKA_JMX_OPTS") or LAUNCH_JMX_OPTS
    if not env.get("KAFKA_JMX_HOSTNAME"):  # `hostname -i`, empty when it fails
        try:
            env["KAFKA_JMX_HOSTNAME"] = socket.gethostbyname(socket.gethostname())
        except OSError:
            env["KAFKA_JMX_HOSTNAME"] = ""
    if env.get("KAFKA_JMX_PORT"):
        env["JMX_PORT"] = port = env["KAFKA_JMX_PORT"]
        env["KAFKA_JMX_OPTS"] += (f" -Djava.rmi.server.hostname={env['KAFKA_JMX_HOSTNAME']} "
                                  f"-Dcom.sun.management.jmxremote.local.only=false "
                                  f"-Dcom.sun.management.jmxremote.rmi.port={port} -Dcom.sun.management.jmxremote.port={port}")
    component = env["COMPONENT"]
    print(f"===> Launching {component} ... ", flush=True)
    server_start(at, component, [at(f"/etc/kafka/{component}.properties")])


def server_start(at, component, args):
    """kafka-server-start / zookeeper-server-start: their log4j and heap defaults, then the class."""
    main, heap, name = SERVERS[component]
    env = os.environ
    env["KAFKA_LOG4J_OPTS"] = env.get("KAFKA_LOG4J_OPTS") or f"-Dlog4j.configuration=file:{at('/etc/kafka/log4j.properties')}"
    env["KAFKA_HEAP_OPTS"] = env.get("KAFKA_HEAP_OPTS") or heap
    extra = env["EXTRA_ARGS"].split() if "EXTRA_ARGS" in env else ["-name", name, "-loggc"]
    run_class(at, [*extra, main, *args])


def run_class(at, args):
    """kafka-run-class, in place of this process."""
    env = os.environ
    if not os.path.isfile(CLASSPATH[:-1] + "kafka_2.13-3.7.1.jar"):
        raise Refused(f"no Kafka jars in {CLASSPATH[:-2]}: tests/bed/fetch-jars.sh fetches them")
    jmx = env.get("KAFKA_JMX_OPTS") or RUN_CLASS_JMX_OPTS
    jmx += f" -Dcom.sun.management.jmxremote.port={env['JMX_PORT']} " if env.get("JMX_PORT") else ""
    log_dir = env.get("LOG_DIR") or at("/var/log/kafka")  # Confluent's packages log there
    log4j = env.get("KAFKA_LOG4J_OPTS")
    if not log4j:  # a tool: /etc/kafka/tools-log4j.properties, the package's until configure ran
        if not os.path.exists(at("/etc/kafka/tools-log4j.properties")):
            write_tools_log4j(at, "WARN")
        log4j = f"-Dlog4j.configuration=file:{at('/etc/kafka/tools-log4j.properties')}"
    else:
        os.makedirs(log_dir, exist_ok=True)
    log4j = f"-Dkafka.logs.dir={log_dir} {log4j}"
    name, loggc = None, False
    while args and args[0] in ("-name", "-loggc", "-daemon"):
        if args[0] == "-daemon":
            raise Refused("daemon mode is not emulated")
        if args[0] == "-name":
            name, args = args[1], args[2:]
        else:
            loggc, args = not env.get("KAFKA_GC_LOG_OPTS"), args[1:]
    gc = f"-Xlog:gc*:file={log_dir}/{name}-gc.log:time,tags:filecount=10,filesize=100M" if loggc \
        else env.get("KAFKA_GC_LOG_OPTS", "")
    os.execvp("java", ["java", *(env.get("KAFKA_HEAP_OPTS") or "-Xmx256M").split(),
                       *(env.get("KAFKA_JVM_PERFORMANCE_OPTS") or PERFORMANCE_OPTS).split(), *gc.split(),
                       *jmx.split(), *log4j.split(), "-cp", CLASSPATH, *env.get("KAFKA_OPTS", "").split(), *args])


PROGRAMS = ("run", "kafka-run-class", "kafka-server-start", "zookeeper-server-start", *TOOLS)


def main(rootfs, program, args):
    """`program` of the image (one of PROGRAMS) in the container whose root folder is `rootfs`."""
    at = lambda path: rootfs + path
    try:
        if program == "run":
            run(at, args)
        elif program == "kafka-run-class":
            run_class(at, args)
        elif program.endswith("-server-start"):
            server_start(at, program[:-len("-server-start")], args)
        else:
            run_class(at, [*TOOLS[program], *args])
    except Refused as refused:
        print(refused, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
