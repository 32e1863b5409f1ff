"""A tiny HTTP/1.1 server on loopback with behaviour the load-tester tests control."""

import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Behaviour:
    """What the server does: a fixed delay, a stall window, a failure pattern."""

    def __init__(self, delay=0.0):
        self.delay = delay
        self.stall_until = 0.0
        self.fail_every = 0  # every Nth request answers 500
        self.drop_every = 0  # every Nth request closes the connection without an answer
        self.close_after_answer = False  # answer, then close without a "Connection: close" header
        self.say_close = False  # answer with "Connection: close", then close
        self.chunked = False  # send the body with Transfer-Encoding: chunked
        self.count = 0
        self.connections = 0  # TCP connections accepted
        self.last_headers = None  # of the latest request
        self.last_body = None
        self.lock = threading.Lock()
        self.stall = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        with self.server.behaviour.lock:
            self.server.behaviour.connections += 1
        # Headers and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every keep-alive response.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self):
        b = self.server.behaviour
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        with b.lock:
            b.count += 1
            n = b.count
            b.last_headers, b.last_body = dict(self.headers), body
        pause = b.stall_until - time.monotonic()
        if pause > 0:
            with b.stall:  # one request at a time while stalled, like a stuck worker
                time.sleep(max(0.0, b.stall_until - time.monotonic()))
        time.sleep(b.delay)
        if b.drop_every and n % b.drop_every == 0:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        status = 500 if b.fail_every and n % b.fail_every == 0 else 200
        body = b'{"ok": true}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if b.say_close:
            self.send_header("Connection", "close")
        if b.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:5], body[5:])) + b"0\r\n\r\n"
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        if b.close_after_answer or b.say_close:
            self.wfile.flush()
            self.close_connection = True

    do_GET = do_HEAD = do_POST


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hung up (a timeout test, a dropped connection) is expected here


class FakeServer:
    def __init__(self, behaviour, tls=None):
        """``tls=(cert_file, key_file)`` serves https."""
        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.behaviour = behaviour
        scheme = "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}/predict"

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
