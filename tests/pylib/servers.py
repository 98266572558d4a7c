"""What the end-to-end tests that run real servers share: HTTP and PromQL queries, and the
exporters and Prometheus servers a test starts on 127.0.0.1 under its work directory, each
with its log there, all stopped by stop_all() (terminated, killed after 10 s)."""
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import yaml

from exposition import free_port


def fail(msg):
    """Prints FAIL: MSG and exits 1."""
    print("FAIL: " + msg)
    sys.exit(1)


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def wait_http(url, what, seconds=60):
    """Until URL answers; fails the test after SECONDS."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            get(url, 2)
            return
        except Exception:
            time.sleep(0.2)
    fail(what + " did not answer " + url)


def query(prom, q):
    """An instant PromQL query: {sorted label items: value}."""
    url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
    body = json.loads(get(url))
    if body["status"] != "success":
        fail("query %s: %s" % (q, body))
    return {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in body["data"]["result"]}


class Servers:
    """The processes of one test, by name."""

    def __init__(self, work):
        self.work = work
        self.procs = {}

    def start_exporter(self, binary, name, config_dir, port):
        """modelwatch-exporter BINARY with CONFIG_DIR and state WORK/state-NAME, once healthy."""
        state = os.path.join(self.work, "state-" + name)
        os.makedirs(state, exist_ok=True)
        log = open(os.path.join(self.work, name + ".log"), "a")
        self.procs[name] = subprocess.Popen(
            [binary, "--config.dir=" + config_dir, "--state.dir=" + state,
             "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn",
             # Statistics computed at every scrape: the tests compare them right after reading.
             "--web.statistics-interval=0"],
            stdout=log, stderr=log)
        wait_http("http://127.0.0.1:%d/-/healthy" % port, name)

    def start_prometheus(self, name, rule_files, scrape_configs, external_labels=None):
        """A Prometheus scraping and evaluating every second, its rule files under WORK; its
        URL once ready."""
        port = free_port()
        config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                  "rule_files": [os.path.join(self.work, r) for r in rule_files],
                  "scrape_configs": scrape_configs}
        if external_labels:
            config["global"]["external_labels"] = external_labels
        path = os.path.join(self.work, name + ".yml")
        with open(path, "w") as f:
            yaml.safe_dump(config, f)
        log = open(os.path.join(self.work, name + ".log"), "w")
        self.procs[name] = subprocess.Popen(
            ["/usr/bin/prometheus", "--config.file=" + path,
             "--storage.tsdb.path=" + os.path.join(self.work, "tsdb-" + name),
             "--web.listen-address=127.0.0.1:%d" % port], stdout=log, stderr=log)
        url = "http://127.0.0.1:%d" % port
        wait_http(url + "/-/ready", name)
        return url

    def kill(self, name):
        """SIGKILL, as a crash would."""
        self.procs[name].kill()
        self.procs[name].wait()

    def stop_all(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
