"""What to send: method, URL, headers and body (JSON, a JSON file, or an image as multipart)."""

import mimetypes
from dataclasses import dataclass, field
from pathlib import Path

import orjson


@dataclass
class Target:
    url: str
    method: str = "POST"
    headers: dict = field(default_factory=dict)
    body: bytes | None = None
    files: dict | None = None  # multipart: {"file": (name, bytes, content type)}
    timeout: float = 10.0

    def send(self, session):
        """Send once with ``session``; return the response (raises on transport errors)."""
        return session.request(self.method, self.url, headers=self.headers, data=self.body,
                               files=self.files, timeout=self.timeout)


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
