"""A compose network, natively (see compose_native.py): a bridge in a network namespace of its own,
so the host's network is untouched, that each container's eth0 joins through a veth pair; and the
names Compose's DNS resolves on it (each container by its service name), as one hosts file that
every container of the network sees at /etc/hosts, with a line added as each container joins."""
import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What Docker writes before the container's own line.
HOSTS_HEAD = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
PREFIX = 16  # 172.30.0.0/16, as a compose network's /16


def tool(name):
    path = shutil.which(name, path=SYSTEM_PATH)
    assert path, f"`{name}` is not installed: the native compose run needs it (Debian: iproute2, util-linux, mount)"
    return path


class Network:
    """The bridge `br0` in the namespace of a holder process, and the network's hosts file."""

    def __init__(self, workdir):
        self.home = Path(tempfile.mkdtemp(prefix="network-", dir=workdir))
        self.hosts = self.home / "hosts"
        self.members = {}  # name -> address
        self.proc = self._fd = None

    def start(self):
        self.hosts.write_text(HOSTS_HEAD)
        self.hosts.chmod(0o644)
        ip = tool("ip")
        # Its stdin is a pipe nobody writes: the holder ends with this process, however that ends.
        self.proc = subprocess.Popen(
            [tool("unshare"), "--net", "/bin/sh", "-c",
             f"{ip} link set lo up && {ip} link add br0 type bridge && {ip} link set br0 up && echo ready && read _"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        ready = self.proc.stdout.readline()
        assert ready.strip() == "ready", f"the network's bridge: {ready}{self.proc.stdout.read()}"
        # Held open, the namespace is this network's for as long as it lives, whatever pid is reused.
        self._fd = os.open(f"/proc/{self.proc.pid}/ns/net", os.O_RDONLY)
        return self

    @property
    def namespace(self):
        return f"/proc/{os.getpid()}/fd/{self._fd}"

    def join(self, name, address):
        """The shell lines that, run as root in a new container's network namespace, put its eth0
        on the bridge; `name` resolves to `address` from then on, in every container."""
        assert name not in self.members and address not in self.members.values(), (name, address, self.members)
        self.members[name] = address
        with open(self.hosts, "a") as hosts:
            hosts.write(f"{address}\t{name}\n")
        ip, peer, ns = tool("ip"), "ve-" + address.split(".", 2)[2].replace(".", "-"), shlex.quote(self.namespace)
        return [f"{ip} link set lo up", f"{ip} link add eth0 type veth peer name {peer} netns {ns}",
                f"{ip} addr add {address}/{PREFIX} dev eth0", f"{ip} link set eth0 up",
                f"{tool('nsenter')} --net={ns} {ip} link set {peer} master br0 up"]

    def stop(self):
        if self.proc is None:
            return
        self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc.stdout.close()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
