#!/usr/bin/env python3
"""Memory of idle `/_auth/events` streams: starts a gateway (the binary given, a fresh data dir,
no cap of connections per address, open around the clock), reads its resident memory, opens N
streams on a service's host (each reads its first event, then sits idle), reads the memory again,
and prints the difference per stream.

    python3 bench/sse_streams.py [--streams 1000] [--binary target/debug/auth-gateway]

Needs only python3. The streams come from 127.0.0.1; the gateway answers them itself, so no
service needs to run.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def open_stream(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        b"GET /_auth/events HTTP/1.1\r\nHost: service-b.localhost\r\n"
        b"Accept: text/event-stream\r\n\r\n"
    )
    got = b""
    while b"event: state" not in got:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError(f"stream closed: {got[:200]!r}")
        got += chunk
    return sock


def open_idle(port):
    """A kept-alive connection that asked for /health once and now waits for its next request."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("closed")
        got += chunk
    return sock


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--binary", default="target/debug/auth-gateway")
    parser.add_argument(
        "--idle-connections",
        action="store_true",
        help="for comparison: kept-alive connections after one /health instead of streams",
    )
    args = parser.parse_args()

    port = free_port()
    data = tempfile.mkdtemp(prefix="sse-bench-")
    env = dict(os.environ)
    env.update(
        {
            "AUTH_STORAGE__DATA_DIR": data,
            "AUTH_GATEWAY__LISTEN": f"127.0.0.1:{port}",
            "AUTH_GATEWAY__PUBLIC_URL": f"http://127.0.0.1:{port}",
            "AUTH_GATEWAY__MAX_CONNECTIONS_PER_ADDRESS": "0",
            "AUTH_SCHEDULE__DAYS": '["mon","tue","wed","thu","fri","sat","sun"]',
            "AUTH_SCHEDULE__OPEN": "00:00",
            "AUTH_SCHEDULE__CLOSE": "24:00",
            "RUST_LOG": "warn",
        }
    )
    log = open(os.path.join(data, "gateway.log"), "w")
    gateway = subprocess.Popen([args.binary], env=env, stdout=log, stderr=log)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        # Warm the paths once, so the first stream's one-time costs are not counted per stream.
        warm = [open_stream(port) for _ in range(10)]
        for sock in warm:
            sock.close()
        time.sleep(2)
        before = rss_kib(gateway.pid)
        opener = open_idle if args.idle_connections else open_stream
        streams = [opener(port) for _ in range(args.streams)]
        time.sleep(2)
        after = rss_kib(gateway.pid)
        per = (after - before) / args.streams
        kind = "idle_connections" if args.idle_connections else "streams"
        print(f"{kind}={args.streams} rss_before_kib={before} rss_after_kib={after} "
              f"per_stream_kib={per:.1f}")
        for sock in streams:
            sock.close()
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
