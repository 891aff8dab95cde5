"""A real Prometheus server for tests: started on a free 127.0.0.1 port with a config derived
from provisioning/prometheus/prometheus.yml, and an HTTP server for exposition samples."""
import copy
import http.server
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import requests
import yaml

from stack import ALERTS_YML, require_tool


# Ports below the kernel's ephemeral range (32768 and up), where a port handed out for `:0` may
# be taken by any outgoing connection (a scrape, a Kafka client) before the server binds it,
# and apart from the Rust beds' own 20000..32000.
_PORTS = range(12000, 20000)
_next_port = iter(range(len(_PORTS)))


def free_port():
    """A loopback port free right now, probed from a per-process offset."""
    offset = os.getpid() * 7919 % len(_PORTS)
    for n in _next_port:
        port = _PORTS[(offset + n) % len(_PORTS)]
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port in {_PORTS.start}..{_PORTS.stop}")


def derive_config(provisioned, targets, scrape_interval="1s"):
    """The provisioned config with each kept job's targets replaced.

    `targets` maps job name -> (host:port, metrics_path). Jobs not in it are dropped; job names,
    target labels, metric relabelling and the alert rules stay as provisioned.
    """
    config = copy.deepcopy(provisioned)
    config["global"]["scrape_interval"] = scrape_interval
    config["global"]["scrape_timeout"] = scrape_interval
    config["global"]["evaluation_interval"] = scrape_interval
    config["rule_files"] = [str(ALERTS_YML)]
    jobs = []
    for job in config["scrape_configs"]:
        if job["job_name"] not in targets:
            continue
        address, path = targets[job["job_name"]]
        # The provisioned target labels (cluster, env) stay: the dashboards filter on them.
        labels = {k: v for sc in job.get("static_configs", []) for k, v in sc.get("labels", {}).items()}
        job["static_configs"] = [{"targets": [address], **({"labels": labels} if labels else {})}]
        job["metrics_path"] = path
        job["scrape_interval"] = scrape_interval
        job["scrape_timeout"] = scrape_interval
        jobs.append(job)
    config["scrape_configs"] = jobs
    return config


class Prometheus:
    def __init__(self, config, port):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._dir = tempfile.TemporaryDirectory(prefix="ph-prometheus-")
        self.config_path = Path(self._dir.name) / "prometheus.yml"
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self._log = open(Path(self._dir.name) / "prometheus.log", "w+")
        self._proc = None

    def start(self):
        binary = require_tool("prometheus")
        self._proc = subprocess.Popen(
            [binary, f"--config.file={self.config_path}",
             f"--storage.tsdb.path={self._dir.name}/data",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            assert self._proc.poll() is None, f"prometheus exited:\n{self.log()}"
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"prometheus not ready after 30 s:\n{self.log()}")

    def stop(self):
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.close()
        self._dir.cleanup()

    def log(self):
        self._log.flush()
        self._log.seek(0)
        return self._log.read()[-4000:]

    def api(self, path, **params):
        r = requests.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        body = r.json()
        assert body.get("status") == "success", f"{path} {params}: {body}"
        return body["data"]

    def query(self, expr):
        return self.api("query", query=expr)["result"]

    def series(self, selector):
        return self.api("series", **{"match[]": selector})

    def wait_for_scrapes(self, jobs, scrapes=3, timeout=60):
        """Wait until every job's targets are up and were scraped at least `scrapes` times."""
        deadline = time.time() + timeout
        missing = set(jobs)
        while time.time() < deadline:
            missing = set()
            for job in jobs:
                counts = self.query(f'count_over_time(up{{job="{job}"}}[5m])')
                ups = self.query(f'up{{job="{job}"}} == 1')
                if not counts or float(counts[0]["value"][1]) < scrapes or not ups:
                    missing.add(job)
            if not missing:
                return
            time.sleep(0.5)
        targets = self.api("targets")["activeTargets"]
        detail = {t["labels"]["job"]: (t["health"], t["lastError"]) for t in targets}
        raise AssertionError(f"jobs not scraped {scrapes} times in {timeout} s: {sorted(missing)}; targets: {detail}")


_TYPE = re.compile(r"^# TYPE (\S+) (\w+)")
_SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)\s*$")


def growing(text, elapsed):
    """Exposition text whose counters (and summary _sum/_count) grew for `elapsed` seconds,
    so rate() and increase() see real movement between scrapes."""
    types = {}
    out = []
    for line in text.splitlines():
        m = _TYPE.match(line)
        if m:
            types[m.group(1)] = m.group(2)
        m = _SAMPLE.match(line)
        if m and not line.startswith("#"):
            name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
            if types.get(name) == "counter":
                value += 10 * elapsed
            elif name.endswith("_count") and types.get(name[:-6]) == "summary":
                value += elapsed
            elif name.endswith("_sum") and types.get(name[:-4]) == "summary":
                value += 0.01 * elapsed
            line = f"{name}{labels} {value!r}"
        out.append(line)
    return "\n".join(out) + "\n"


class ExpositionServer:
    """Serves {path: exposition text} on 127.0.0.1, counters growing from start()."""

    def __init__(self, pages):
        self.pages = pages
        self.port = free_port()
        self._started = time.time()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                text = server.pages.get(self.path)
                if text is None:
                    self.send_error(404)
                    return
                body = growing(text, time.time() - server._started).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self):
        self._started = time.time()
        self._thread.start()
        return self

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()
