"""What to send: method, URL, headers and body (JSON, a JSON file, or an image as multipart).

The request is turned into bytes once, when the Target is made; sending it is one write.
"""

import mimetypes
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import orjson

from loadtest.client import Connection

USER_AGENT = "loadtest"
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass
class Target:
    url: str
    method: str = "POST"
    headers: dict = field(default_factory=dict)
    body: bytes | None = None
    files: dict | None = None  # multipart: {"file": (name, bytes, content type)}
    timeout: float = 10.0

    def __post_init__(self):
        parts = urlsplit(self.url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"{self.url!r} is not an http:// or https:// URL")
        self.host = parts.hostname
        self.port = parts.port or DEFAULT_PORTS[parts.scheme]
        self.tls = parts.scheme == "https"
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.request = prepare(self.method, path, parts.netloc, self.headers, self.body, self.files)

    def connect(self):
        """A new keep-alive connection to the target's host (opened on its first request)."""
        return Connection(self.host, self.port, self.timeout, self.tls)

    def send(self, connection):
        """Send once over ``connection``; return the HTTP status (raises TransportError)."""
        return connection.exchange(self.request, head=self.method == "HEAD")


def multipart(files):
    """``(body, content_type)`` of a multipart/form-data body holding ``files``."""
    boundary = uuid.uuid4().hex
    chunks = []
    for name, (filename, data, kind) in files.items():
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                      f"Content-Type: {kind}\r\n\r\n".encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def prepare(method, path, host, headers, body=None, files=None):
    """The bytes of one HTTP/1.1 request: request line, headers, body."""
    if files:
        body, content_type = multipart(files)
        headers = {**headers, "Content-Type": content_type}
    names = {name.lower() for name in headers}
    lines = [f"{method} {path} HTTP/1.1"]
    if "host" not in names:
        lines.append(f"Host: {host}")
    if "user-agent" not in names:
        lines.append(f"User-Agent: {USER_AGENT}")
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "content-length"]
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body or b'')}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def build_target(url, method="POST", headers=(), json_body=None, json_file=None, image=None, api_key=None,
                 timeout=10.0):
    """Make a Target from command-line style arguments; the JSON is checked once, here."""
    parsed = {}
    for header in headers:
        name, sep, value = header.partition(":")
        if not sep:
            raise ValueError(f"header {header!r} is not 'Name: value'")
        parsed[name.strip()] = value.strip()
    if api_key:
        parsed["Authorization"] = f"Bearer {api_key}"
    body = files = None
    if json_file:
        json_body = Path(json_file).read_text()
    if json_body is not None:
        body = orjson.dumps(orjson.loads(json_body))
        parsed.setdefault("Content-Type", "application/json")
    if image:
        path = Path(image)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        files = {"file": (path.name, path.read_bytes(), kind)}
    if body is not None and files is not None:
        raise ValueError("send either a JSON body or an image, not both")
    return Target(url, method.upper(), parsed, body, files, timeout)
