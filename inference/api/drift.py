"""``GET /models/<name>/drift``: how far the inputs served so far, summed over every worker, have
moved from the version's training data (population stability index per feature)."""

from flask import Blueprint

from inference import drift
from inference.api.plane import get_plane
from inference.core.registry import LATEST

bp = Blueprint("drift", __name__)


@bp.get("/models/<name>/drift")
@bp.get("/models/<name>/versions/<version>/drift")
def drift_report(name, version=LATEST):
    """PSI per feature of one model version (latest by default), with its reading and bin shares."""
    return drift.report(get_plane().model(name, version), drift.summed(drift.families()))
