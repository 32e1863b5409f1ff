"""Gunicorn's gthread worker, answering what Gunicorn refuses by itself (a request line over
``limit_request_line``: 414; too many or too large header fields: 431; a malformed request: 400)
with the app's JSON error body and an ``X-Request-ID``, instead of Gunicorn's HTML page; and
letting go of a client that stops sending in the middle of its request.

Used through ``worker_class`` (Gunicorn's documented way to bring a worker); ``gunicorn.conf.py``
selects it. These requests never reach the app, so the id is new (the client's own header may be
what was refused) and the line in the access log is written here.
"""

import os
import socket
import ssl
import struct
import threading
from http import HTTPStatus

import orjson
from gunicorn import util
from gunicorn.http import errors as http
from gunicorn.workers.gthread import ThreadWorker

from inference import accesslog, balance, config
from inference.api.errors import HTTP_CODES, error_body

# Gunicorn's own mapping (gunicorn.workers.base.Worker.handle_error), most specific first.
STATUS = (
    ((http.InvalidResponseHeader, http.InvalidResponseHeaderName), 500),  # the app's fault, not the client's
    (http.LimitRequestLine, 414),
    (http.LimitRequestHeaders, 431),
    (http.UnsupportedTransferCoding, 501),
    (http.ExpectationFailed, 417),
    (http.ConfigurationProblem, 500),
    ((http.ForbiddenProxyRequest, ssl.SSLError), 403),
    (http.ParseException, 400),
)
MESSAGES = {
    400: "malformed HTTP request",
    403: "request forbidden",
    414: "the request line (method, path and query) is too long",
    417: "the Expect header cannot be met",
    431: "too many header fields, or one too large",
    500: "internal server error",
    501: "unsupported Transfer-Encoding",
}
SETTING = {414: "GUNICORN_LIMIT_REQUEST_LINE",
           431: "GUNICORN_LIMIT_REQUEST_FIELDS, GUNICORN_LIMIT_REQUEST_FIELD_SIZE"}


IDLE_TIMEOUT = config.SETTINGS["GUNICORN_CLIENT_IDLE_TIMEOUT"].default  # seconds of silence mid-request


GATHER_LIMIT = 64 * 1024  # bytes of an answer held back to go out in one write


class IdleTimeoutSocket(socket.socket):
    """A client socket on which a blocking read or write gives up after ``idle_timeout`` silent
    seconds, and which sends an answer's headers and body in one write.

    Gunicorn reads a request on a blocking socket with no timeout once its first bytes are in, so
    a client that sends half a request and stops held a thread for good (a few such clients
    held every thread). A read that times out ends like a client that hung up: Gunicorn closes
    the connection without a word, as for any premature disconnection.

    The timeout is the kernel's (SO_RCVTIMEO, SO_SNDTIMEO) on a socket left blocking: Python's own
    socket timeout polls before every read and write, two system calls where one does.

    Between ``gather()`` and ``flush()`` (one answer), the first write (Gunicorn's status line and
    headers) is held and goes out with the second (the body, or its first chunk): Gunicorn wrote
    them apart, which made two system calls and two TCP segments (two wake-ups of the client) for
    every small answer. Holding then stops, so a streamed answer's later chunks leave as they come.
    Any other way out (a read, ``send``, ``sendfile``, ``shutdown``, a write with flags, a write past
    GATHER_LIMIT bytes) sends what is held first, so nothing is reordered, kept waiting or lost.
    """

    idle_timeout = IDLE_TIMEOUT
    held = None  # None: not gathering; b"": gathering, nothing held yet; else the held write

    @classmethod
    def adopt(cls, sock, idle_timeout):
        """The same connection, as an IdleTimeoutSocket (``sock`` is detached and unusable after)."""
        new = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        new.idle_timeout = idle_timeout
        seconds = int(idle_timeout)
        timeval = struct.pack("ll", seconds, int((idle_timeout - seconds) * 1_000_000))
        new.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
        new.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
        return new

    def recv(self, *args):
        if self.held:
            self.flush()
        try:
            return super().recv(*args)
        except BlockingIOError:
            if self.getblocking():  # the kernel's timeout: the client said nothing for idle_timeout
                return b""  # to the parser and the body readers: the client went away
            raise

    def gather(self):
        """Hold the next write until the one after it (or ``flush``, or a read)."""
        self.held = b""

    def flush(self):
        """Send what is held, and stop holding."""
        held, self.held = self.held, None
        if held:
            self._send_all(held)

    def sendall(self, data, *args):
        """Send it all, timing out only when the client takes nothing for ``idle_timeout`` seconds.

        (Python's own sendall applies the timeout to the whole answer, which would cut a large
        answer to a slow but steady reader.)"""
        held = self.held
        if held is None:
            return self._send_all(data, *args)
        if not held and not args and len(data) < GATHER_LIMIT:
            self.held = bytes(data)  # the headers: they wait for the body
            return None
        self.held = None
        if held and (args or len(held) + len(data) > GATHER_LIMIT):
            self._send_all(held)
            held = b""
        return self._send_all(held + bytes(data) if held else data, *args)

    def send(self, data, *args):
        """One ``send``, after what is held."""
        if self.held:
            self.flush()
        return super().send(data, *args)

    def sendfile(self, file, offset=0, count=None):
        """Python's sendfile (which writes to the descriptor itself), after what is held."""
        self.flush()
        return super().sendfile(file, offset, count)

    def shutdown(self, how):
        """Shut down after sending what is held (Gunicorn's graceful close, after an app error, shuts
        the write side before anything else: the held headers would never leave)."""
        if self.held:
            try:
                self.flush()
            except OSError:  # the client is gone or takes nothing: the connection closes anyway
                pass
        return super().shutdown(how)

    def _send_all(self, data, *args):
        view = memoryview(data).cast("B")
        while view:
            try:
                sent = socket.socket.send(self, view, *args)
            except BlockingIOError:
                if self.getblocking():
                    raise ClientStalled(f"the client took nothing for {self.idle_timeout:g} s") from None
                raise
            view = view[sent:]


class ClientStalled(TimeoutError):
    """A client took none of its answer for the idle timeout: the connection is given up."""


# gunicorn-h1c (Gunicorn's C parser) reports an unknown transfer coding as a bad header named so;
# Gunicorn's Python parser raises UnsupportedTransferCoding, which RFC 9112 answers with 501.
H1C_UNKNOWN_CODING = "Unsupported Transfer-Encoding"


def status_for(exc):
    """The HTTP status Gunicorn gives ``exc`` (500 for anything that is not the client's fault)."""
    if isinstance(exc, http.InvalidHeader) and getattr(exc, "hdr", None) == H1C_UNKNOWN_CODING:
        return 501
    for kinds, status in STATUS:
        if isinstance(exc, kinds):
            return status
    return 500


def error_message(status, exc):
    """What went wrong, for the client: the limit's name, never a traceback."""
    message = MESSAGES.get(status, HTTPStatus(status).phrase)
    if status in SETTING:
        return f"{message}: {exc}; the server's limits: {SETTING[status]}"
    if status == 500:
        return message
    return f"{message}: {exc}"


def error_bytes(status, message, request_id):
    """A whole HTTP/1.1 response carrying the JSON error body; the connection closes after it."""
    body = orjson.dumps(error_body(HTTP_CODES.get(status, "http_error"), message, request_id))
    head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nX-Request-ID: {request_id}\r\n\r\n")
    return head.encode("latin-1") + body


LINGER = 0.002  # seconds an otherwise idle thread waits for its connection's next request


def next_request_within(conn, seconds):
    """True when the connection's next request has (started to) come in within ``seconds``."""
    if conn.parser.unreader.buf.getvalue():
        return True
    try:
        return balance.readable([conn.sock], seconds)
    except (OSError, ValueError):
        return False


# Created when the master imports this worker class, before it forks: every worker shares it.
SHARES = balance.Shares()


class JsonThreadWorker(ThreadWorker):
    """gthread, with JSON answers for the requests Gunicorn itself refuses, client idle timeouts,
    and connections spread over the workers (``inference.balance``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.balancer = balance.Balancer(SHARES, slack=self.cfg.threads)
        self.queued = 0  # connections handed to the thread pool and not yet taken by a thread
        self.queued_lock = threading.Lock()
        self.client_idle_timeout = config.load(scope=config.SERVER)["GUNICORN_CLIENT_IDLE_TIMEOUT"]
        app = config.load()
        self.request_log = accesslog.shared(app["ACCESS_LOG_FLUSH_SECONDS"]) if app["ACCESS_LOG"] else None

    @property
    def worker_connections(self):
        """The connections Gunicorn's loop lets this worker hold now: the configured most, or only
        those it holds while a sibling is less busy.

        A worker joins the balancing once its models are loaded: counted before, it would look the
        least busy of all, and its siblings would steer new connections to it while every
        prediction there waits for the load."""
        if self.alive:
            if not self.balancer.started:
                if self.models_loading():
                    return self.max_connections
                self.balancer.start()
            if not self.balancer.should_accept(self.nr_conns, self.sockets):
                return self.nr_conns
        return self.max_connections

    def models_loading(self):
        """True while this worker's app still loads its models in the background."""
        plane = getattr(getattr(self, "wsgi", None), "extensions", {}).get("dataplane")
        return plane is not None and plane.registry.loading

    @worker_connections.setter
    def worker_connections(self, value):
        self.max_connections = value

    def run(self):
        try:
            super().run()
        finally:
            self.balancer.stop()

    def set_accept_enabled(self, enabled):
        if not enabled and not self.alive:
            self.balancer.stop()  # stopping: siblings no longer leave connections to this worker
        super().set_accept_enabled(enabled)

    def wait_for_and_dispatch_events(self, timeout):
        """While declining connections for a sibling, wake often enough to see one wait too long."""
        if self.alive and not self._accepting and self.balancer.slot is not None \
                and self.nr_conns < self.max_connections:  # declining for a sibling, not full
            timeout = min(timeout, balance.CHECK_EVERY)
        super().wait_for_and_dispatch_events(timeout)

    def enqueue_req(self, conn):
        """Before a thread serves the connection, give its socket the idle timeout (once)."""
        # Not under TLS terminated here: Gunicorn wraps the socket later (TConn.init), and a TLS
        # socket's reads retry through the kernel's timeout (docs/hardening.md: terminate TLS in the proxy).
        sock = conn.sock
        if not self.cfg.is_ssl and isinstance(sock, socket.socket) and not isinstance(sock, IdleTimeoutSocket):
            conn.sock = IdleTimeoutSocket.adopt(conn.sock, self.client_idle_timeout)
        with self.queued_lock:
            self.queued += 1
        super().enqueue_req(conn)

    def handle(self, conn):
        """Serve a connection's request, then, while no other connection waits for a thread, its
        next one as it comes (within LINGER), instead of handing the connection back to the main
        thread's poller to be handed out again (two thread hand-offs per request at low load)."""
        with self.queued_lock:
            self.queued -= 1
        result = super().handle(conn)
        while result is True and self.alive and self.queued <= 0 and next_request_within(conn, LINGER):
            result = super().handle(conn)
        return result

    def handle_request(self, req, conn):
        """Gunicorn's, with the answer's writes gathered into one (see IdleTimeoutSocket)."""
        sock = conn.sock
        if not isinstance(sock, IdleTimeoutSocket):
            return super().handle_request(req, conn)
        sock.gather()
        try:
            keepalive = super().handle_request(req, conn)
            sock.flush()  # an answer without a body (HEAD, 204, 304) is still held here
            return keepalive
        except ClientStalled as exc:
            self.log.info("Dropped a client that read none of its answer: %s (%s %s)", exc, req.method, req.path)
            return False
        finally:
            sock.held = None  # nothing held past its request (a client that takes nothing, an error)

    def handle_error(self, req, client, addr, exc):
        """Log like Gunicorn, then answer with the JSON error body instead of HTML."""
        request_id = os.urandom(16).hex()
        status = status_for(exc)
        ip = (addr or ("", -1))[0]
        if status == 500:
            self.log.exception("Error handling request (request id %s)", request_id)
        else:
            self.log.warning("Invalid request from ip=%s: %s (request id %s)", ip, exc, request_id)
        if self.request_log is not None:  # the same flat line as every answered request
            path = getattr(req, "path", None)
            self.request_log.write({"request_id": request_id, "method": getattr(req, "method", None),
                                    "path": path[:256] if isinstance(path, str) else None,
                                    "route": "<refused by gunicorn>", "model": None, "version": None,
                                    "status": status, "latency_ms": None, "rows": None})
        try:
            util.write_nonblock(client, error_bytes(status, error_message(status, exc), request_id))
        except Exception:  # the client may be gone already
            self.log.debug("Failed to send error message.")
