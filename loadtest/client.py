"""A lean keep-alive HTTP/1.1 client: one connection, prepared request bytes, the whole answer read.

``requests`` spends a few hundred microseconds of CPU per call (sessions, adapters, header
objects, cookie jars); at 2,000 req/s that is the tester's whole interpreter. Here a request is
one ``sendall`` of bytes built once, and the answer is parsed just far enough to know its status
and where its body ends (Content-Length, chunked, or the connection closing).

Failures are raised under the names ``requests`` used (``ConnectionError``, ``ConnectTimeout``,
``ReadTimeout``), so errors by exception read the same as in earlier reports.
"""

import select
import socket
import ssl

MAX_LINE = 65536  # longest status or header line accepted
MAX_HEADERS = 200
NO_BODY_STATUSES = (204, 304)


class TransportError(Exception):
    """The request got no complete HTTP answer; the subclass says how."""


class ConnectionError(TransportError):  # requests' name (shadows the builtin), kept for the reports
    """Could not connect, or the server closed or reset the connection before the answer ended."""


class ConnectTimeout(TransportError):
    """No connection within the timeout."""


class ReadTimeout(TransportError):
    """The server accepted the request but sent nothing for longer than the timeout."""


class InvalidResponse(TransportError):
    """The server answered something that is not HTTP/1.x."""


class Connection:
    """One keep-alive connection to ``host:port``, opened on first use and reopened after a drop.

    Not thread-safe: each worker thread owns one, like a browser tab owns its socket.
    """

    def __init__(self, host, port, timeout=10.0, tls=False):
        self.host, self.port, self.timeout, self.tls = host, port, timeout, tls
        self.sock = None
        self.reader = None
        self.opened = 0  # connections opened so far (1 when keep-alive held throughout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Close the socket; the next exchange opens a new one."""
        if self.sock is not None:
            self.reader.close()
            self.sock.close()
            self.sock = self.reader = None

    def exchange(self, request, head=False):
        """Send the prepared ``request`` bytes and read the whole answer; return its status code.

        ``head``: the request was HEAD, so the answer has no body whatever its headers say.
        """
        if self.sock is not None and self._dropped():
            self.close()  # closed by the server while idle (keep-alive timeout): not an error
        if self.sock is None:
            self._open()
        try:
            self.sock.sendall(request)
            status, keep_alive = self._read_answer(head)
        except TimeoutError:
            self.close()
            raise ReadTimeout(f"no answer within {self.timeout} s") from None
        except (OSError, ValueError) as exc:  # reset, broken pipe, a garbled length
            self.close()
            raise ConnectionError(f"{type(exc).__name__}: {exc}") from None
        except TransportError:
            self.close()
            raise
        if not keep_alive:
            self.close()
        return status

    def _open(self):
        try:
            sock = socket.create_connection((self.host, self.port), self.timeout)
        except TimeoutError:
            raise ConnectTimeout(f"no connection to {self.host}:{self.port} within {self.timeout} s") from None
        except OSError as exc:
            raise ConnectionError(f"{type(exc).__name__}: {exc}") from None
        # The request goes out in one write, but the answer must not wait on Nagle's algorithm.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls:
            try:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
            except (OSError, ssl.SSLError) as exc:
                sock.close()
                raise ConnectionError(f"{type(exc).__name__}: {exc}") from None
        self.sock = sock
        self.reader = sock.makefile("rb")
        self.opened += 1

    def _dropped(self):
        """True when an idle connection is readable: the server closed it (or sent bytes nobody asked for)."""
        readable, _, _ = select.select([self.sock], [], [], 0)
        return bool(readable)

    def _line(self):
        line = self.reader.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise InvalidResponse("header line too long")
        return line

    def _read_answer(self, head):
        """Read one answer; return ``(status, keep_alive)``."""
        while True:
            line = self._line()
            if not line:
                raise ConnectionError("the server closed the connection without an answer")
            version, _, rest = line.partition(b" ")
            if not version.startswith(b"HTTP/1."):
                raise InvalidResponse(f"not an HTTP/1.x status line: {line[:40]!r}")
            try:
                status = int(rest[:3])
            except ValueError:
                raise InvalidResponse(f"bad status line: {line[:40]!r}") from None
            length, chunked, connection = self._headers()
            if not 100 <= status < 200:  # skip interim answers (100 Continue, 103 Early Hints)
                break
        keep_alive = (connection != b"close") if version == b"HTTP/1.1" else (connection == b"keep-alive")
        if head or status in NO_BODY_STATUSES:
            return status, keep_alive
        if chunked:
            self._read_chunks()
        elif length is not None:
            self._read_exactly(length)
        else:  # no length: the body ends when the server closes the connection
            self.reader.read()
            keep_alive = False
        return status, keep_alive

    def _headers(self):
        """Read the header block; return ``(content_length, chunked, connection)``."""
        length, chunked, connection = None, False, b""
        for _ in range(MAX_HEADERS):
            line = self._line()
            if line in (b"\r\n", b"\n"):
                return length, chunked, connection
            if not line:
                raise ConnectionError("the server closed the connection in the middle of the headers")
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = value.strip().lower().endswith(b"chunked")
            elif name == b"connection":
                connection = value.strip().lower()
        raise InvalidResponse(f"more than {MAX_HEADERS} header lines")

    def _read_exactly(self, n):
        if n and len(self.reader.read(n)) != n:
            raise ConnectionError("the server closed the connection in the middle of the body")

    def _read_chunks(self):
        while True:
            size_line = self._line()
            if not size_line:
                raise ConnectionError("the server closed the connection in the middle of the body")
            size = int(size_line.split(b";", 1)[0], 16)
            if size == 0:
                break
            self._read_exactly(size + 2)  # the chunk and its CRLF
        while self._line() not in (b"\r\n", b"\n", b""):  # trailers
            pass
