"""The demo's alert path, run natively: Debian's Alertmanager with the provisioned config
(provisioning/alertmanager/alertmanager.yml, only the receiver's address mapped to loopback) and
the demo's own receiver (provisioning/demo/alert-webhook.py), whose printed lines say which
alerts arrived."""
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
import yaml

from prometheus_server import free_port
from stack import PROVISIONING, load_yaml, require_tool

ALERTMANAGER_YML = PROVISIONING / "alertmanager" / "alertmanager.yml"
WEBHOOK_PY = PROVISIONING / "demo" / "alert-webhook.py"
# Debian names the binary after its package.
ALERTMANAGER_BINARY = "prometheus-alertmanager"


def _wait_ready(url, proc, what, log):
    deadline = time.time() + 30
    while time.time() < deadline:
        assert proc.poll() is None, f"{what} exited:\n{log()}"
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{what} not ready after 30 s:\n{log()}")


class Webhook:
    """The demo's receiver on a free loopback port; `received()` is every alert it printed."""

    def __init__(self):
        self.port = free_port()
        self._lines = []
        self._proc = subprocess.Popen(
            [sys.executable, str(WEBHOOK_PY), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        _wait_ready(f"http://127.0.0.1:{self.port}/", self._proc, "alert-webhook", self.log)

    def _read(self):
        for line in self._proc.stdout:
            self._lines.append(line.strip())

    def log(self):
        return "\n".join(self._lines[-40:])

    def received(self, alertname=None, status=None):
        alerts = []
        for line in list(self._lines):
            try:
                a = json.loads(line)
            except ValueError:
                continue
            if "alertname" in a and alertname in (None, a["alertname"]) and status in (None, a["status"]):
                alerts.append(a)
        return alerts

    def stop(self):
        self._proc.terminate()
        self._proc.wait(timeout=10)


class Alertmanager:
    """The provisioned Alertmanager config, its webhook pointed at `webhook_url`."""

    def __init__(self, webhook_url):
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self._dir = tempfile.TemporaryDirectory(prefix="ph-alertmanager-")
        config = load_yaml(ALERTMANAGER_YML)
        for receiver in config["receivers"]:
            for hook in receiver.get("webhook_configs", []):
                hook["url"] = webhook_url
        path = Path(self._dir.name) / "alertmanager.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        self._log = open(Path(self._dir.name) / "alertmanager.log", "w+")
        self._proc = subprocess.Popen(
            [require_tool(ALERTMANAGER_BINARY), f"--config.file={path}",
             f"--storage.path={self._dir.name}/data", f"--web.listen-address={self.address}",
             "--cluster.listen-address="],  # one instance: no gossip port
            stdout=self._log, stderr=subprocess.STDOUT)
        _wait_ready(f"http://{self.address}/-/ready", self._proc, "alertmanager", self.log)

    def log(self):
        self._log.flush()
        self._log.seek(0)
        return self._log.read()[-4000:]

    def stop(self):
        if self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
        self._log.close()
        self._dir.cleanup()
