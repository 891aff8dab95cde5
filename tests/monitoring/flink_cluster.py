"""Starts the real Flink MiniCluster of tests/flink (PipelineJobs) with Flink's Prometheus
reporter, for the monitoring tests. Needs `bash tests/flink/fetch-flink.sh` to have run."""
import subprocess
import threading
import time

import requests

from stack import ROOT, require_tool

CACHE = ROOT / ".cache" / "flink"


class FlinkCluster:
    def __init__(self, prometheus_port, *flags):
        self.prometheus_port = prometheus_port
        self.flags = flags
        self.rest = None
        self._proc = None
        self._output = []

    def start(self, timeout=120):
        assert list(CACHE.glob("lib/flink-dist*.jar")), \
            f"Flink jars missing in {CACHE}: run `bash tests/flink/fetch-flink.sh`"
        assert (CACHE / "classes" / "PipelineJobs.class").exists(), \
            "tests/flink-jobs not compiled: run `bash tests/flink/fetch-flink.sh`"
        classpath = ":".join([str(CACHE / "lib" / "*"), str(CACHE / "plugins" / "metrics-prometheus" / "*"),
                              str(CACHE / "classes")])
        self._proc = subprocess.Popen(
            [require_tool("java"), "-cp", classpath, "PipelineJobs", "--rest-port", "0",
             "--prometheus-port", str(self.prometheus_port), "--exit-on-stdin-eof", *self.flags],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ready = threading.Event()

        def read():
            for line in self._proc.stdout:
                self._output.append(line)
                if line.startswith("READY rest="):
                    self.rest = line.split()[1].split("=", 1)[1]
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(timeout):
            self.stop()
            raise AssertionError(f"Flink not READY in {timeout} s:\n{self.output()}")
        return self

    def output(self):
        return "".join(self._output[-60:])

    def jobs(self):
        return requests.get(f"{self.rest}/jobs/overview", timeout=5).json()["jobs"]

    def completed_checkpoints(self, jid):
        return requests.get(f"{self.rest}/jobs/{jid}/checkpoints", timeout=5).json()["counts"]["completed"]

    def wait_until(self, what, predicate, timeout=90):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if predicate():
                    return
            except (requests.RequestException, KeyError, ValueError):
                pass
            time.sleep(0.5)
        raise AssertionError(f"Flink: {what} not reached in {timeout} s:\n{self.output()}")

    def stop(self):
        if self._proc and self._proc.poll() is None:
            self._proc.stdin.close()  # --exit-on-stdin-eof
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
