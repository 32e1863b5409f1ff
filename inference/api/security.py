"""Optional API key (``API_KEY``): required on every route but the probes, compared in constant time."""

import hmac

from flask import current_app, request

from inference.core.errors import Unauthorized

OPEN_ENDPOINTS = {"health.health", "health.ready"}
DOCS_ENDPOINTS = {"docs.openapi_json", "docs.swagger_ui", "docs.swagger_asset"}


def presented_key():
    """The key from ``Authorization: Bearer <key>`` or ``X-API-Key``, or None."""
    auth = request.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("X-API-Key")


def require_api_key():
    """401 unless the request carries the API key (probes, preflights and open docs excepted)."""
    if request.endpoint in OPEN_ENDPOINTS:
        return
    if request.endpoint in DOCS_ENDPOINTS and current_app.config["PUBLIC_DOCS"]:
        return
    expected = current_app.config["API_KEY"]
    key = presented_key()
    if key is None or not hmac.compare_digest(key.encode(), expected.encode()):
        raise Unauthorized(
            "a valid API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers={"WWW-Authenticate": 'Bearer realm="inference"'},
        )


def init_app(app):
    """Require the key on every request when API_KEY is set."""
    if app.config.get("API_KEY"):
        app.before_request(require_api_key)
