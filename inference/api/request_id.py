"""``X-Request-ID`` on every response: the client's, when it is a sane token, else a new one."""

import os
import re

from flask import g, request

HEADER = "X-Request-ID"
ENVIRON_KEY = "HTTP_X_REQUEST_ID"  # how WSGI passes the header
SAFE_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")  # nothing that could split a header or a log line


def assign_request_id():
    """The client's X-Request-ID when it is a safe token, else a new random one."""
    incoming = request.environ.get(ENVIRON_KEY, "")
    g.request_id = incoming if SAFE_ID.match(incoming) else os.urandom(16).hex()


def add_request_id(response):
    """Every response carries the request's id."""
    response.headers[HEADER] = g.get("request_id") or os.urandom(16).hex()
    return response


def init_app(app):
    """Assign the id first and send it back on every response."""
    app.before_request(assign_request_id)
    app.after_request(add_request_id)
