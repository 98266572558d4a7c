"""Helpers shared by the Python test scripts: a free loopback port and /metrics scraping."""
import contextlib
import re
import socket
import subprocess
import urllib.request

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$')
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def free_port():
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_text(text):
    """Prometheus text exposition -> {(name, ((label, value), ...) sorted): value}."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        m = _SAMPLE.match(line)
        if m:
            labels = tuple(sorted(_LABEL.findall(m.group(2) or "")))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def scrape(port, path="/metrics"):
    """Scrapes http://127.0.0.1:PORT/metrics and parses it (parse_text)."""
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
        return parse_text(r.read().decode())


@contextlib.contextmanager
def running_exporter(binary, config_dir, state_dir):
    """Starts modelwatch-exporter on a free loopback port; yields the port; SIGTERM at exit."""
    port = free_port()
    proc = subprocess.Popen([binary, "--config.dir=" + config_dir, "--state.dir=" + state_dir,
                             "--web.listen-address=127.0.0.1:%d" % port,
                             # statistics computed at every scrape: exact right after ingest
                             "--web.statistics-interval=0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
