"""Misbehaving clients for the proxy tests: idle connections and headers sent one byte a second."""

import contextlib
import socket
import threading
import time

import requests

SLOW_REQUEST = b"GET /models HTTP/1.1\r\nHost: slow\r\nX-Padding: " + b"p" * 64 + b"\r\n\r\n"


@contextlib.contextmanager
def idle_connections(port, count):
    """``count`` open connections to 127.0.0.1:``port`` that never send a byte."""
    sockets = []
    try:
        for _ in range(count):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        yield sockets
    finally:
        for s in sockets:
            s.close()


@contextlib.contextmanager
def slow_header_clients(port, count, interval=1.0):
    """``count`` connections that each send a request's headers one byte every ``interval`` seconds."""
    stop = threading.Event()

    def trickle():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                for i in range(len(SLOW_REQUEST)):
                    if stop.wait(0 if i == 0 else interval):
                        return
                    s.sendall(SLOW_REQUEST[i:i + 1])
        except OSError:  # the server gave up on us: that is its right
            return

    threads = [threading.Thread(target=trickle, daemon=True) for _ in range(count)]
    for t in threads:
        t.start()
    try:
        yield threads
    finally:
        stop.set()
        for t in threads:
            t.join(5)


def request_latencies(url, count, timeout, pause=0.2):
    """Seconds each of ``count`` fresh GETs of ``url`` took (``timeout`` + 1 for one that timed out or failed)."""
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        try:
            ok = requests.get(url, timeout=timeout).status_code == 200
        except requests.RequestException:
            ok = False
        latencies.append(time.perf_counter() - started if ok else timeout + 1)
        time.sleep(pause)
    return latencies
