#!/usr/bin/python3
"""A local stand-in for PagerDuty, Slack, e-mail and the heartbeat service.

Alertmanager's notifications land here instead of the real services:

  POST /pagerduty[/...]   PagerDuty Events API v2 (set `pagerduty_url` to this URL)
  POST /slack[/...]       Slack incoming webhook (put this URL in the `slack_api_url_file`)
  POST /heartbeat[/...]   Alertmanager webhook JSON (the Watchdog heartbeat URL)
  POST /<anything else>   Alertmanager webhook JSON or any JSON, logged as kind "webhook"
  SMTP on --smtp-port     e-mail: a minimal plain SMTP server (no TLS, no auth; Alertmanager
                          needs `require_tls: false` for it) that accepts every message

Every notification becomes one JSON line in --log:
  {"received_at": 1795..., "kind": "pagerduty", "path": "/pagerduty", "status": "firing",
   "group_key": "...", "group_labels": {...}, "num_firing": 3, "num_resolved": 0,
   "alerts": [{"status": "firing", "labels": {...}}...], "title": "...", "raw": {...}}
`alerts`/`labels` come from the structured payload where there is one (webhook JSON) and
else from the text Alertmanager rendered (its default "Labels: - name = value" lists, the
"[FIRING:N] ..." subject); `raw` keeps the whole payload. A readable line goes to stdout.

GET /notifications returns the log so far as a JSON array; GET /-/healthy answers 200.
With --port 0 an ephemeral port is chosen; --port-file / --smtp-port-file receive the ports.
"""

import argparse
import email
import email.policy
import html
import json
import os
import re
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
LOG = {"fh": None, "entries": []}

SUBJECT_RE = re.compile(r"\[(FIRING|RESOLVED)(?::(\d+))?\]\s*([^\n]*)")
LABEL_LINE_RE = re.compile(r"^\s*(?:-\s*)?([A-Za-z_][A-Za-z0-9_]*) = (.*?)\s*$")


def parse_alert_blocks(text, status):
    """Parses Alertmanager's default text alert list ("Labels:\\n - k = v ...") and
    returns [{"status", "labels"}]. Annotations are kept apart from labels."""
    alerts = []
    if not text:
        return alerts
    section = None
    cur = None
    if "<" in text:  # HTML (the default e-mail template): one "name = value" per <br>
        text = re.sub(r"<br[^>]*>", "\n", text)
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
    for line in text.splitlines():
        stripped = line.strip()
        if stripped in ("Labels", "Labels:"):
            cur = {"status": status, "labels": {}, "annotations": {}}
            alerts.append(cur)
            section = "labels"
            continue
        if stripped in ("Annotations", "Annotations:"):
            section = "annotations"
            continue
        if stripped.startswith("Source:"):
            section = None
            continue
        m = LABEL_LINE_RE.match(line)
        if m and cur is not None and section:
            cur[section][m.group(1)] = m.group(2)
    return alerts


MW_MODEL_RE = re.compile(r"^Model: (\S+)(?: version (\S+))?, team (\S*), tier (\S*)\s*$")
MW_RUNBOOK_RE = re.compile(r"^Runbook: \S*?/([A-Za-z0-9_]+)(?:\.md)?\s*$")


def parse_modelwatch_text(text, severity=None):
    """Parses the text of modelwatch's own notification template (one block per alert:
    summary, description, "Model: M version V, team T, tier N", "Recommended action: ...",
    "Started: ...", "Dashboard: ...", "Runbook: .../<Alert>.md"). Returns
    [{"status", "labels", "summary"}] with labels alertname (from the runbook URL), model,
    version, team, tier and, when given (from the subject), severity."""
    alerts, cur = [], None
    for line in (text or "").splitlines():
        if cur is None:
            if not line.strip():
                continue
            status = "resolved" if line.startswith("RESOLVED: ") else "firing"
            cur = {"status": status, "labels": {},
                   "summary": line[len("RESOLVED: "):] if status == "resolved" else line}
            continue
        m = MW_MODEL_RE.match(line)
        if m:
            cur["labels"].update({"model": m.group(1), "team": m.group(3), "tier": m.group(4)})
            if m.group(2):
                cur["labels"]["version"] = m.group(2)
            continue
        m = MW_RUNBOOK_RE.match(line)
        if m:
            cur["labels"]["alertname"] = m.group(1)
            if severity:
                cur["labels"]["severity"] = severity
            alerts.append(cur)
            cur = None
    return alerts


def parse_text(text, status, subject):
    """Alerts from a rendered notification text: Alertmanager's default label lists, else
    modelwatch's template."""
    alerts = parse_alert_blocks(text, status)
    if not alerts:
        m = re.search(r"\((page|ticket|info)\)\s*$", subject or "")
        alerts = parse_modelwatch_text(text, m.group(1) if m else None)
    return alerts


def parse_subject(text):
    m = SUBJECT_RE.search(text or "")
    if not m:
        return None, None, ""
    status = "firing" if m.group(1) == "FIRING" else "resolved"
    return status, int(m.group(2)) if m.group(2) else None, m.group(3).strip()


def from_webhook(body):
    alerts = [{"status": a.get("status"), "labels": a.get("labels", {}),
               "annotations": a.get("annotations", {}), "startsAt": a.get("startsAt"),
               "endsAt": a.get("endsAt"), "fingerprint": a.get("fingerprint")}
              for a in body.get("alerts", [])]
    return {
        "status": body.get("status"),
        "receiver": body.get("receiver"),
        "group_key": body.get("groupKey"),
        "group_labels": body.get("groupLabels", {}),
        "common_labels": body.get("commonLabels", {}),
        "alerts": alerts,
        "num_firing": sum(1 for a in alerts if a["status"] == "firing"),
        "num_resolved": sum(1 for a in alerts if a["status"] == "resolved"),
        "title": "",
    }


def from_pagerduty(body):
    payload = body.get("payload") or {}
    details = payload.get("custom_details") or body.get("details") or {}
    status = "resolved" if body.get("event_action") == "resolve" else "firing"
    alerts = []
    summary = payload.get("summary") or body.get("description") or ""
    if isinstance(details, dict):
        alerts += parse_alert_blocks(str(details.get("firing", "")), "firing")
        alerts += parse_alert_blocks(str(details.get("resolved", "")), "resolved")
        if not alerts and details.get("summary"):
            alerts = parse_text(str(details["summary"]), status, summary)
    _, n, rest = parse_subject(summary)

    def num(key, fallback):
        try:
            return int(details.get(key))
        except (TypeError, ValueError, AttributeError):
            return fallback

    return {
        "status": status,
        "group_key": body.get("dedup_key"),
        "group_labels": {},
        "alerts": alerts,
        "num_firing": num("num_firing", n if n is not None else
                          sum(1 for a in alerts if a["status"] == "firing")),
        "num_resolved": num("num_resolved", sum(1 for a in alerts if a["status"] == "resolved")),
        "title": summary,
        "severity": payload.get("severity"),
        "routing_key": body.get("routing_key"),
    }


def from_slack(body):
    texts, title = [], ""
    for att in body.get("attachments") or []:
        title = title or att.get("title", "") or att.get("fallback", "")
        texts.append(att.get("text", "") or "")
        for fld in att.get("fields") or []:
            texts.append("%s\n%s" % (fld.get("title", ""), fld.get("value", "")))
    if body.get("text"):
        texts.append(body["text"])
        title = title or body["text"].splitlines()[0]
    status, n, _ = parse_subject(title)
    alerts = []
    for t in texts:
        alerts += parse_text(t, status or "firing", title)
    return {
        "status": status,
        "group_key": None,
        "group_labels": {},
        "alerts": alerts,
        "num_firing": n if n is not None else sum(1 for a in alerts if a["status"] == "firing"),
        "num_resolved": sum(1 for a in alerts if a["status"] == "resolved"),
        "title": title,
        "channel": body.get("channel"),
    }


def from_email(msg):
    subject = str(msg.get("Subject", ""))
    parts = []
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            try:
                parts.append(part.get_content())
            except (LookupError, ValueError):
                parts.append(part.get_payload(decode=True).decode("utf-8", "replace"))
    status, n, _ = parse_subject(subject)
    alerts = []
    for text in parts:
        # The default HTML template writes "name = value<br />" lines: one per line.
        alerts += parse_text(text, status or "firing", subject)
    return {
        "status": status,
        "group_key": None,
        "group_labels": {},
        "alerts": alerts,
        "num_firing": n if n is not None else 0,
        "num_resolved": 0,
        "title": subject,
        "to": msg.get("To"),
        "raw_text": "\n".join(parts)[:20000],
    }


def record(kind, path, entry, raw):
    entry = dict(entry)
    entry["received_at"] = round(time.time(), 3)
    entry["kind"] = kind
    entry["path"] = path
    entry["raw"] = raw
    names = sorted({a["labels"].get("alertname", "?") for a in entry.get("alerts", [])})
    models = sorted({a["labels"].get("model", "-") for a in entry.get("alerts", [])})
    line = json.dumps(entry, sort_keys=True)
    with LOCK:
        LOG["entries"].append(entry)
        if LOG["fh"]:
            LOG["fh"].write(line + "\n")
            LOG["fh"].flush()
    print("%s %-9s %-8s firing=%s resolved=%s alerts=%s models=%s %s" % (
        time.strftime("%H:%M:%S"), kind, entry.get("status"), entry.get("num_firing"),
        entry.get("num_resolved"), ",".join(names) or "-", ",".join(models),
        (entry.get("title") or "")[:80]), flush=True)


class Handler(BaseHTTPRequestHandler):
    server_version = "modelwatch-demo-receiver"

    def log_message(self, fmt, *args):
        pass

    def _reply(self, code, body, ctype="application/json"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.startswith("/notifications"):
            with LOCK:
                body = json.dumps(LOG["entries"])
            self._reply(200, body)
        elif self.path.startswith("/-/healthy"):
            self._reply(200, "ok\n", "text/plain")
        else:
            self._reply(404, "not found\n", "text/plain")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        try:
            body = json.loads(data or b"{}")
        except ValueError:
            body = {"text": data.decode("utf-8", "replace")}
        path = self.path
        if not isinstance(body, dict):
            body = {"value": body}
        if path.startswith("/pagerduty"):
            kind, entry = "pagerduty", from_pagerduty(body)
            reply = json.dumps({"status": "success", "message": "Event processed",
                                "dedup_key": body.get("dedup_key")})
            code = 202
        elif path.startswith("/slack"):
            kind, entry, reply, code = "slack", from_slack(body), "ok", 200
        else:
            kind = "heartbeat" if path.startswith("/heartbeat") else "webhook"
            entry = from_webhook(body) if "alerts" in body else {"alerts": [], "status": None}
            reply, code = "{}", 200
        record(kind, path, entry, body)
        self._reply(code, reply)


class SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) for Alertmanager's email notifier without TLS."""

    def _send(self, line):
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        self._send("220 modelwatch-demo-receiver ESMTP")
        rcpts, sender = [], None
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode("utf-8", "replace").strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                if verb == "EHLO":
                    self._send("250-modelwatch-demo-receiver")
                    self._send("250-8BITMIME")
                    self._send("250 SIZE 10485760")
                else:
                    self._send("250 modelwatch-demo-receiver")
            elif verb == "MAIL":
                sender, rcpts = cmd[10:].strip(), []
                self._send("250 OK")
            elif verb == "RCPT":
                rcpts.append(cmd[8:].strip())
                self._send("250 OK")
            elif verb == "DATA":
                self._send("354 End data with <CR><LF>.<CR><LF>")
                buf = []
                while True:
                    dl = self.rfile.readline()
                    if not dl or dl in (b".\r\n", b".\n"):
                        break
                    if dl.startswith(b".."):
                        dl = dl[1:]
                    buf.append(dl)
                msg = email.message_from_bytes(b"".join(buf), policy=email.policy.default)
                entry = from_email(msg)
                entry["smtp_from"], entry["smtp_to"] = sender, rcpts
                record("email", "smtp", entry, {"subject": str(msg.get("Subject", ""))})
                self._send("250 OK: queued")
            elif verb == "QUIT":
                self._send("221 Bye")
                return
            elif verb in ("RSET", "NOOP"):
                self._send("250 OK")
            else:
                self._send("502 Command not implemented")


class ThreadingTCP(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser(description="local notification sink for the modelwatch demo")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--smtp-port", type=int, default=-1, help="-1: no SMTP server; 0: ephemeral")
    p.add_argument("--smtp-port-file")
    p.add_argument("--log", help="append notifications here (JSON lines)")
    args = p.parse_args()
    if args.log:
        LOG["fh"] = open(args.log, "a")
    httpd = ThreadingHTTPServer((args.host, args.port), Handler)
    httpd.daemon_threads = True
    port = httpd.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as fh:
            fh.write("%d\n" % port)
        os.replace(args.port_file + ".tmp", args.port_file)
    if args.smtp_port >= 0:
        smtpd = ThreadingTCP((args.host, args.smtp_port), SmtpHandler)
        sport = smtpd.server_address[1]
        threading.Thread(target=smtpd.serve_forever, daemon=True).start()
        if args.smtp_port_file:
            with open(args.smtp_port_file + ".tmp", "w") as fh:
                fh.write("%d\n" % sport)
            os.replace(args.smtp_port_file + ".tmp", args.smtp_port_file)
        print("webhook_receiver: SMTP on %s:%d" % (args.host, sport), flush=True)
    print("webhook_receiver: HTTP on http://%s:%d (pagerduty: /pagerduty, slack: /slack, "
          "heartbeat: /heartbeat)" % (args.host, port), flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
