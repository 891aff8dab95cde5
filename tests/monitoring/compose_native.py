"""Services of docker-compose.monitoring.yml run natively from their own definitions, as Docker
runs their containers (no Docker engine here; see test_compose_native.py). A container is a
private network namespace (lo, and eth0 on the stack's compose network, compose_network.py), a
private UTS namespace (its hostname, the service's name), a private PID namespace (its program is
PID 1, with its own /proc, as a healthcheck reading /proc/1 expects) and a private mount namespace where its
bind mounts and volumes are bound at `<rootfs><container path>`, and the network's hosts file at
/etc/hosts; its program runs as the image's user with only the image's programs on PATH
(compose_images.IMAGES says which native program stands in for which image, and why that is
faithful)."""
import glob
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import namedtuple
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from compose_images import IMAGES, ONE_SHOTS
from compose_network import Network, tool
from stack import ROOT, depends_on, environment, interpolate, seconds, volumes

HEALTH_DEFAULTS = {"interval": 30.0, "timeout": 30.0, "start_period": 0.0}  # and retries 3
# The schedule runs on a compressed clock: at most MAX_INTERVAL between probes (the compose file
# says 5-10 s), the start period shrunk alike; retries stay as declared, so a service has Docker's
# number of chances, in less time. A probe keeps its own timeout, capped.
MAX_INTERVAL = 2.0
MAX_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0  # Docker's grace between the stop signal and SIGKILL
HANDLED_KEYS = {"image", "command", "entrypoint", "environment", "volumes", "healthcheck",
                "depends_on", "user", "working_dir", "stop_signal"}
# Publishing ports to the host and restart policies change nothing of a first start's health.
IGNORED_KEYS = {"ports", "expose", "restart"}
Probe = namedtuple("Probe", "at code output")  # seconds after the start; code None: timed out
Healthcheck = namedtuple("Healthcheck", "argv interval timeout retries start_period")  # argv None: none


def image_key(image):
    """The image without its tag or digest: the key of IMAGES."""
    return re.sub(r"[:@][^/]*$", "", image)


def as_argv(value):
    """An entrypoint or command as Compose reads it: a list, or a string split as a shell would."""
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value or []]


def healthcheck(spec):
    """A compose `healthcheck` with Docker's forms (NONE, CMD, CMD-SHELL: /bin/sh -c, a bare
    string: CMD-SHELL) and defaults (30 s, 30 s, 3 retries, no start period; 0 means default)."""
    spec = spec or {}
    test = ["NONE"] if spec.get("disable") else spec.get("test") or ["NONE"]
    test = ["CMD-SHELL", test] if isinstance(test, str) else test
    argv = {"NONE": None, "CMD": list(test[1:]), "CMD-SHELL": ["/bin/sh", "-c", *test[1:]]}[test[0]]
    timing = {k: (seconds(spec[k]) if k in spec else 0) or v for k, v in HEALTH_DEFAULTS.items()}
    return Healthcheck(argv, retries=int(spec.get("retries") or 3), **timing)


@dataclass
class Health:
    status: str  # healthy, unhealthy, exited (before a verdict), none (no healthcheck)
    probes: list
    at: float  # time.monotonic() of the verdict
    detail: str = ""

    def __str__(self):
        return f"{self.status} after {len(self.probes)} probe(s) {self.detail}; last: {self.probes[-1:]}"


def blocker(service):
    """Why this service by itself cannot run here (its image, a key not emulated), or None."""
    if image_key(service["image"]) not in IMAGES:
        return f"no native stand-in for the image {service['image']}"
    unknown = set(service) - HANDLED_KEYS - IGNORED_KEYS
    return f"uses {', '.join(sorted(unknown))}, not emulated here" if unknown else None


def not_runnable(compose):
    """{service: why} of each service that cannot run here: a blocker, or a dependency that cannot
    (a ONE_SHOTS service can: it is stood in for)."""
    services, reasons = compose["services"], {}

    def reason(name):
        if name not in reasons:
            why = "no such service" if name not in services else None if name in ONE_SHOTS else blocker(services[name])
            for dep, condition in depends_on(services.get(name, {})).items():
                if why is None and reason(dep):
                    why = f"waits for {dep} ({condition}), which cannot run here: {reason(dep)}"
            reasons[name] = why
        return reasons[name]
    return {name: why for name in services if (why := reason(name))}


def native_file(pattern):
    """The native file of a stand-in: the newest match of a glob (postgresql/16 after 15)."""
    key = lambda p: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", p)]
    found = sorted(glob.glob(pattern), key=key)
    assert found, f"{pattern} is not installed: a stand-in of compose_native.IMAGES needs it"
    return found[-1]


def native_ids(user):
    """uid, gid here of an image's or a service's user (a name missing here: nobody)."""
    name, _, group = str(user).partition(":")
    if name.isdigit():
        return int(name), int(group or name)
    entry = next((e for e in pwd.getpwall() if e.pw_name == name), None) or pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


def kill(pids, sig):
    for pid in pids:
        with suppress(ProcessLookupError):  # gone meanwhile
            os.kill(int(pid), sig)


class Container:
    """One service run natively as Docker runs its container (see the module's docstring)."""

    def __init__(self, name, service, workdir, network, address, max_interval=MAX_INTERVAL):
        assert not blocker(service), f"{name} cannot run here: {blocker(service)}"
        self.name, self.service, self.network, self.address = name, interpolate(service), network, address
        self.max_interval = max_interval
        self.image = IMAGES[image_key(service["image"])]
        self.home = Path(workdir) / name
        self.rootfs, self.bindir, self.volumes = self.home / "rootfs", self.home / "bin", Path(workdir) / "volumes"
        self.healthcheck = healthcheck(self.service.get("healthcheck"))
        self.user = str(self.service.get("user", self.image.user))
        self.stop_signal = signal.Signals[self.service.get("stop_signal", self.image.stop_signal)]
        self.mounts = list(volumes(self.service))
        self.cwd = str(self.rootfs) + self.service.get("working_dir", self.image.workdir).rstrip("/")
        targets = {m.target for m in self.mounts} | set(self.image.dirs) - set(self.image.private)
        alternatives = "|".join(re.escape(t) for t in sorted(targets, key=len, reverse=True))
        self._targets = re.compile(rf"(?<![\w./-])({alternatives})(?=/|[^\w.-]|$)") if targets else None
        self.proc = self.netns = self._ns = self._health = self.started_at = None

    def path(self, text):
        """`text` with each container path under a mount or an image folder made native."""
        return self._targets.sub(lambda m: f"{self.rootfs}{m.group(1)}", text) if self._targets else text

    def _native_argv(self, argv):
        argv = list(argv)
        if argv and Path(argv[0]).name in self.image.programs:
            argv[0] = Path(argv[0]).name  # /bin/prometheus: the image's program, on its PATH
        return [self.path(a) for a in argv]

    def argv(self):
        """The entrypoint (the service's drops the image's CMD), then the command or the CMD."""
        s = self.service
        entry = as_argv(s["entrypoint"]) if "entrypoint" in s else list(self.image.entrypoint)
        cmd = as_argv(s["command"]) if "command" in s else [] if "entrypoint" in s else list(self.image.cmd)
        assert entry + cmd, f"{self.name}: nothing to run"
        return self._native_argv(entry + cmd)

    def env(self, extra=None):
        """The image's environment, then the service's (and `extra`, as `docker exec -e`)."""
        home = "/root" if native_ids(self.user)[0] == 0 else "/"
        env = {"PATH": str(self.bindir), "HOSTNAME": self.name, "HOME": home, **self.image.env,
               **environment(self.service), **(extra or {})}
        return {k: self.path(v) for k, v in env.items()}

    def _mount_source(self, i, m):
        if m.kind == "bind":
            source = (ROOT / os.path.expanduser(m.source)).resolve()
            assert source.exists(), f"{self.name} mounts {m.source}, which does not exist"
            return source
        volume = self.volumes / (m.source or f"{self.name}-anonymous-{i}")
        if not volume.exists():
            volume.mkdir(parents=True)
            if m.target in self.image.dirs:  # a new volume takes the folder's owner, copied up
                os.chown(volume, *native_ids(self.image.dirs[m.target]))
        return volume / m.subpath if m.subpath else volume

    def _prepare(self):
        """The image's folders (owned as there), the mount points, the volumes, the PATH."""
        for folder, owner in self.image.dirs.items():
            (self.rootfs / folder.lstrip("/")).mkdir(parents=True, exist_ok=True)
            os.chown(self.rootfs / folder.lstrip("/"), *native_ids(owner))
        Path(self.cwd).mkdir(parents=True, exist_ok=True)
        self.binds = []
        for i, m in enumerate(self.mounts):
            source, point = self._mount_source(i, m), self.rootfs / m.target.lstrip("/")
            point.parent.mkdir(parents=True, exist_ok=True)
            point.mkdir(exist_ok=True) if source.is_dir() else point.touch()
            self.binds.append((source, point, m.read_only))
        for folder in self.image.private:
            os.makedirs(folder, exist_ok=True)  # its mount point here (Debian's own, for postgres)
        self.bindir.mkdir(parents=True, exist_ok=True)
        for program, native in self.image.programs.items():
            link = self.bindir / program
            if isinstance(native, str):
                link.symlink_to(native_file(native))
            else:
                link.write_text(f'#!/bin/sh\nexec {shlex.join(a.format(rootfs=self.rootfs) for a in native)} "$@"\n')
                link.chmod(0o755)

    def _as_user(self):
        uid, gid = native_ids(self.user)
        return "" if uid == 0 else f"{tool('setpriv')} --reuid={uid} --regid={gid} --clear-groups --"

    def _script(self):
        """What runs first inside the namespaces, as root: the network, the hostname, the mounts,
        the user."""
        mount, q = tool("mount"), shlex.quote
        lines = ["set -e", *self.network.join(self.name, self.address), f"{tool('hostname')} {q(self.name)}",
                 # The PID namespace's own /proc, once joining the network no longer needs the host's.
                 f"{mount} -t proc proc /proc"]
        hosts = [(self.network.hosts, Path("/etc/hosts"), True)]
        for source, point, read_only in self.binds + hosts:
            lines.append(f"{mount} --bind {q(str(source))} {q(str(point))}")
            lines += [f"{mount} -o remount,bind,ro {q(str(point))}"] if read_only else []
        lines += [f"{mount} --bind {q(str(self.rootfs) + d)} {q(d)}" for d in self.image.private]
        return "\n".join(lines + [f"cd {q(self.cwd)}", f'exec {self._as_user()} "$@"'])

    def start(self):
        self._prepare()
        self._log = open(self.home / "log", "w+")
        self.proc = subprocess.Popen(
            [tool("unshare"), "--net", "--mount", "--uts", "--pid", "--fork", "--kill-child",
             "/bin/sh", "-c",
             self._script(), self.name, *self.argv()],
            env=self.env(), stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.started_at = time.monotonic()
        host, deadline = os.readlink("/proc/self/ns/net"), time.monotonic() + 10
        while self.netns in (None, host):  # until unshare(2) has run
            assert self.running() and time.monotonic() < deadline, f"{self.name}: no namespace:\n{self.logs()}"
            time.sleep(0.01)
            self.netns = os.readlink(f"/proc/{self.proc.pid}/ns/net")
        # Held open, the namespaces outlive their processes: never another's, whatever pid is reused.
        self._ns = {option: os.open(f"/proc/{self.proc.pid}/ns/{kind}", os.O_RDONLY)  # nsenter's option: fd
                    for option, kind in (("net", "net"), ("mount", "mnt"), ("uts", "uts"),
                                         ("pid", "pid_for_children"))}
        # Docker watches health from the start, whoever asks and when.
        self._watcher = threading.Thread(target=lambda: setattr(self, "_health", self._watch()), daemon=True)
        self._watcher.start()
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def logs(self):
        return (self.home / "log").read_text(errors="replace")

    def wait_log(self, text, timeout, after=0):
        """The offset just past `text` in the container's output, once it is there."""
        deadline = time.monotonic() + timeout
        while (found := self.logs().find(text, after)) < 0:
            assert self.running() and time.monotonic() < deadline, \
                f"{self.name}: no {text!r} within {timeout} s:\n{self.logs()}"
            time.sleep(0.2)
        return found + len(text)

    def exec(self, argv, timeout, env=None):
        """`docker exec` as the container's user: (exit code, None at the timeout; output)."""
        proc = subprocess.Popen(
            [tool("nsenter"), *(f"--{kind}=/proc/{os.getpid()}/fd/{fd}" for kind, fd in self._ns.items()), "/bin/sh", "-c",
             f'cd {shlex.quote(self.cwd)} && exec {self._as_user()} "$@"', "exec", *self._native_argv(argv)],
            env=self.env(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            output = proc.communicate(timeout=timeout)[0]
            return proc.returncode, output
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            return None, proc.communicate()[0] + f"(killed at its {timeout} s timeout)"

    def health(self):
        """Docker's first verdict on the container's health (the watch is bounded by the
        healthcheck's own numbers)."""
        self._watcher.join(180)
        assert self._health, f"{self.name}: no health verdict"
        return self._health

    def watch(self, check, max_interval):
        """Docker's verdict on `check` (a Healthcheck: a variant of the service's own, say) run in
        this running container from now on, as its own is run."""
        return self._watch(check, max_interval)

    def _watch(self, check=None, max_interval=None):
        check, probes, failures = check or self.healthcheck, [], 0
        if check.argv is None:
            return Health("none", probes, time.monotonic(), "(no healthcheck)")
        scale = min(1.0, (max_interval or self.max_interval) / check.interval)
        while True:
            code = self.wait(check.interval * scale)  # the first probe one interval after the start
            if code is not None:
                return Health("exited", probes, time.monotonic(), f"(exited with code {code})")
            code, output = self.exec(check.argv, min(check.timeout, MAX_TIMEOUT))
            now = time.monotonic()
            probes.append(Probe(round(now - self.started_at, 1), code, output.strip()[-300:]))
            if code == 0:
                return Health("healthy", probes, now)
            # Failures in the start period do not count.
            failures += now - self.started_at >= check.start_period * scale
            if failures >= check.retries:
                return Health("unhealthy", probes, now, f"({failures} failures in a row)")

    def wait(self, timeout):
        """The container's exit code, or None if it still runs after `timeout`."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def _members(self):
        """Every process in the container's network namespace (its healthchecks, its daemons)."""
        pids = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            with suppress(OSError):  # gone meanwhile
                pids += [pid] if os.readlink(f"/proc/{pid}/ns/net") == self.netns else []
        return pids

    def stop(self):
        """`docker stop`: the stop signal to the main process; after the grace, SIGKILL to all."""
        if self.proc is None:
            return
        if self.running():
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
            kill(children.read_text().split() if children.exists() else [], self.stop_signal)
            self.wait(STOP_TIMEOUT)
        deadline = time.monotonic() + 5
        while self.netns not in (None, os.readlink("/proc/self/ns/net")) and (pids := self._members()):
            kill(pids, signal.SIGKILL)  # never the host's: the namespace is the container's own
            assert time.monotonic() < deadline, f"{self.name}: processes left: {pids}"
            time.sleep(0.05)
        if self.running():
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)
        if self._ns:
            self._watcher.join(MAX_TIMEOUT + 5)  # its last probe is over before the namespaces go
            for fd in self._ns.values():
                os.close(fd)
        self._log.close()


class Stack:
    """`docker compose up` of some services, here: each starts once its dependencies meet their
    conditions, waited for as Compose waits; all on one compose network."""

    def __init__(self, compose, names, workdir):
        self.compose, self.names, self.workdir = compose, list(names), workdir
        self.containers, self.unmet, self.waited, self.network = {}, {}, [], Network(workdir)
        self.stood_in = set()

    def _order(self, order=None, names=None):  # dependencies first
        order = [] if order is None else order
        for name in self.names if names is None else names:
            if name in self.names and name not in order:
                self._order(order, depends_on(self.compose["services"][name]))
                order.append(name)
        return order

    def _stand_in(self, name):
        """A ONE_SHOTS service's outcome, once: its files in its volumes, as it would leave them."""
        for (volume, path), native in ONE_SHOTS[name].files.items() if name not in self.stood_in else ():
            target = Path(self.workdir) / "volumes" / volume / path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(native, target)
        self.stood_in.add(name)

    def _meet(self, name, dep, condition):
        """None once `dep` meets `condition`, else why it does not."""
        if dep in ONE_SHOTS and condition != "service_healthy":
            self._stand_in(dep)
        elif dep not in self.containers:
            return f"{dep} is not started here ({self.unmet.get(dep, 'not in this stack')})"
        elif condition == "service_healthy" and (health := self.containers[dep].health()).status != "healthy":
            return f"{dep} is {health}"
        elif condition == "service_completed_successfully" and (code := self.containers[dep].wait(60)) != 0:
            return f"{dep} did not complete successfully (exit code {code})"
        self.waited.append((name, dep, condition, time.monotonic()))
        return None

    def up(self):
        names = list(self.compose["services"])
        self.network.start()
        for name in self._order():
            if name in ONE_SHOTS:
                self._stand_in(name)
                continue
            service = self.compose["services"][name]
            unmet = [why for dep, cond in depends_on(service).items() if (why := self._meet(name, dep, cond))]
            if unmet:
                self.unmet[name] = "; ".join(unmet)
                continue
            address = f"172.30.0.{names.index(name) + 2}"
            self.containers[name] = Container(name, service, self.workdir, self.network, address)
            self.containers[name].start()  # (known to down() first, whatever start leaves running)
        return self

    def started(self, name):
        assert name in self.containers, f"{name} was not started: {self.unmet.get(name, 'not in this stack')}"
        return self.containers[name]

    def run(self, name, command, timeout):
        """`docker compose run --rm --no-deps <name> <command>`: a one-off container of the service
        on the stack's network, under a name of its own: (exit code, None at the timeout; output)."""
        number = sum(n.startswith(f"{name}-run-") for n in self.network.members) + 1
        service = {**self.compose["services"][name], "command": command}
        one_off = Container(f"{name}-run-{number}", service, self.workdir, self.network, f"172.30.1.{number + 1}")
        try:
            code = one_off.start().wait(timeout)
            return code, one_off.logs()
        finally:
            one_off.stop()

    def down(self):
        for container in reversed(list(self.containers.values())):
            container.stop()
        self.network.stop()


@contextmanager
def workspace():
    """A folder the containers' users can reach (pytest's tmp_path is root's alone)."""
    with tempfile.TemporaryDirectory(prefix="ph-compose-", ignore_cleanup_errors=True) as path:
        os.chmod(path, 0o755)
        yield Path(path)


@contextmanager
def running(name, service, workdir, address="172.30.0.2", **options):
    """One container, on a compose network of its own."""
    network = Network(workdir).start()
    container = Container(name, service, workdir, network, address, **options)
    try:
        yield container.start()
    finally:
        container.stop()
        network.stop()


@contextmanager
def compose_up(compose, names):
    with workspace() as workdir:
        stack = Stack(compose, names, workdir)
        try:
            yield stack.up()
        finally:
            stack.down()
