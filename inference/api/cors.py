"""Calls from web apps in a browser on another origin (CORS), through flask-cors.

Off unless ``CORS_ORIGINS`` lists the origins allowed (``https://app.example.org``, comma
separated; ``*`` for any). A preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is
answered before the API key check: browsers never send credentials or custom headers on one, so
it could not pass it. The real request that follows still needs the key.
"""

import re

from flask import Response, request
from flask_cors import CORS

from inference.api.plane import MODEL_HEADERS
from inference.config import ConfigError

# What a browser may send, and read back, on a cross-origin call.
ALLOW_HEADERS = ["Content-Type", "Authorization", "X-API-Key", "X-Request-ID", "Inference-Header-Content-Length"]
EXPOSE_HEADERS = ["X-Request-ID", *MODEL_HEADERS, "Retry-After"]
METHODS = ["GET", "POST", "OPTIONS"]
MAX_AGE = 600  # seconds a browser may cache a preflight's answer
# An Origin header is scheme://host[:port], never a path: "https://app.example.org/" would never match.
ORIGIN = re.compile(r"^https?://[^/\s]+$")


def check_origins(origins):
    """Raise ConfigError for an entry that can never match a browser's Origin header."""
    for origin in origins:
        if origin != "*" and not ORIGIN.match(origin):
            raise ConfigError(f"CORS_ORIGINS entry {origin!r} is not an origin: write scheme://host[:port], "
                              "no path or trailing slash (e.g. https://app.example.org)")


def answer_preflight():
    """A bare 204 for a preflight, to any path (so that preflights do not tell routes apart)."""
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        return Response(status=204)
    return None


def init_app(app):
    """Allow the configured origins; register before the API key check."""
    origins = app.config.get("CORS_ORIGINS")
    if not origins:
        return
    check_origins(origins)
    app.before_request(answer_preflight)
    CORS(app, origins=origins, methods=METHODS, allow_headers=ALLOW_HEADERS, expose_headers=EXPOSE_HEADERS,
         max_age=MAX_AGE, supports_credentials=False, always_send=False,
         intercept_exceptions=False)  # every error is already a response that passes the after_request hooks
