#!/usr/bin/python3
"""Holds many idle TCP connections to an HTTP server while scraping it.

Opens --connections connections to 127.0.0.1:PORT; every other one sends half a request line
(`GET /metr`) and then nothing, the others send nothing at all. While they are held (a
connection the server closes is opened again at once, as an attacker would), it scrapes
PATH --scrapes times, one after the other, and checks that every scrape answers 200 within
--bound seconds. Prints one JSON summary line; exits 1 when a scrape failed or was slow.
"""
import argparse
import base64
import errno
import json
import resource
import select
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--scrapes", type=int, default=20)
    ap.add_argument("--bound", type=float, default=2.0, help="seconds a scrape may take")
    ap.add_argument("--interval", type=float, default=0.1, help="pause between scrapes")
    ap.add_argument("--path", default="/metrics")
    ap.add_argument("--user", default="", help="user:password for basic auth")
    ap.add_argument("--expect", default="modelwatch_build_info", help="text every scrape holds")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.connections + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    held = {}  # fd -> socket
    stats = {"opened": 0, "connect_failed": 0, "closed_by_server": 0}

    def open_many(n, deadline=3.0):
        """Connects n sockets at once (non-blocking) and waits at most `deadline` seconds for
        all of them: a server that stops accepting leaves the rest in a full listen backlog
        (counted in connect_failed)."""
        pending = {}
        for i in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", args.port))
            if err not in (0, errno.EINPROGRESS):
                stats["connect_failed"] += 1
                s.close()
                continue
            pending[s.fileno()] = (s, i)
        end = time.monotonic() + deadline
        while pending and time.monotonic() < end:
            p = select.poll()
            for fd in pending:
                p.register(fd, select.POLLOUT)
            for fd, _ in p.poll(max(1, int((end - time.monotonic()) * 1000))):
                s, i = pending.pop(fd)
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    stats["connect_failed"] += 1
                    s.close()
                    continue
                if i % 2 == 1:
                    try:
                        s.send(b"GET /metr")
                    except OSError:
                        pass
                held[fd] = s
                stats["opened"] += 1
        for s, _ in pending.values():
            stats["connect_failed"] += 1
            s.close()

    def reopen_closed():
        """Drops connections the server closed (readable: EOF, reset or an answer) and opens
        new ones in their place."""
        if not held:
            return
        p = select.poll()
        for fd in held:
            p.register(fd, select.POLLIN)
        gone = []
        for fd, _ in p.poll(0):
            gone.append(fd)  # EOF, a reset or an answer (400, 408): the server let go
        for fd in gone:
            held.pop(fd).close()
            stats["closed_by_server"] += 1
        if gone:
            open_many(len(gone), deadline=0.2)

    t0 = time.monotonic()
    open_many(args.connections)
    stats["open_seconds"] = round(time.monotonic() - t0, 3)

    auth = b""
    if args.user:
        auth = b"Authorization: Basic " + base64.b64encode(args.user.encode()) + b"\r\n"
    request = (b"GET " + args.path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth +
               b"Connection: close\r\n\r\n")

    latencies, failures, last_body = [], [], b""
    for n in range(args.scrapes):
        reopen_closed()
        start = time.monotonic()
        status, body, err = None, b"", ""
        try:
            with socket.create_connection(("127.0.0.1", args.port), timeout=args.bound) as c:
                c.settimeout(max(0.01, args.bound - (time.monotonic() - start)))
                c.sendall(request)
                chunks = []
                while True:
                    if time.monotonic() - start > args.bound:
                        raise TimeoutError("no complete answer within the bound")
                    c.settimeout(max(0.01, args.bound - (time.monotonic() - start)))
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
            raw = b"".join(chunks)
            head, _, body = raw.partition(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.") else None
        except (OSError, ValueError, IndexError) as e:
            err = "%s: %s" % (type(e).__name__, e)
        took = time.monotonic() - start
        latencies.append(took)
        if status != 200 or args.expect.encode() not in body or took > args.bound:
            failures.append({"scrape": n, "status": status, "seconds": round(took, 3),
                             "error": err})
        else:
            last_body = body
        time.sleep(args.interval)
    reopen_closed()

    # The exporter's own view of its connections, from the last good scrape.
    server = {}
    for line in last_body.decode("utf-8", "replace").splitlines():
        if line.startswith("modelwatch_http_connections"):
            name, _, value = line.rpartition(" ")
            server[name] = float(value)
    lat = sorted(latencies)
    summary = {
        "connections": args.connections, "held_at_end": len(held), **stats,
        "scrapes": len(latencies), "failed": len(failures),
        "latency_s": {"min": round(lat[0], 4), "median": round(lat[len(lat) // 2], 4),
                      "max": round(lat[-1], 4)} if lat else {},
        "failures": failures[:5], "server": server,
    }
    print(json.dumps(summary, sort_keys=True))
    for s in held.values():
        s.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
