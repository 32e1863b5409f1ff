"""JSON logs, one object per line, for the app and for Gunicorn itself.

Request bodies are never logged: they may hold patient data.
"""

import logging
import logging.config
from datetime import UTC, datetime

import orjson

JSON_FORMATTER = {
    "()": "pythonjsonlogger.orjson.OrjsonFormatter",
    "fmt": "%(levelname)s %(name)s %(message)s",
    "rename_fields": {"levelname": "level", "name": "logger"},
    "timestamp": "time",
}


class AccessFormatter(logging.Formatter):
    """The request log line: the fields the app put in ``record.access``, as one JSON object.

    One line per request is on the hot path, so it skips the generic formatter's scan of every
    LogRecord attribute and writes the prepared dict directly.
    """

    def format(self, record):
        line = {"level": record.levelname, "logger": record.name, "message": record.getMessage(),
                **record.access, "time": datetime.fromtimestamp(record.created, UTC).isoformat()}
        return orjson.dumps(line).decode()


def dict_config(level="INFO"):
    """A ``logging.config.dictConfig`` mapping: the inference and Gunicorn loggers as JSON on stderr."""
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": JSON_FORMATTER, "access": {"()": AccessFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
                     "access": {"class": "logging.StreamHandler", "formatter": "access", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": "WARNING"},
        "loggers": {
            "inference": {"handlers": ["stderr"], "level": level, "propagate": False},
            "inference.access": {"handlers": ["access"], "level": level, "propagate": False},
            "gunicorn.error": {"handlers": ["stderr"], "level": level, "propagate": False},
            # The app writes its own request log (inference.access), with model and rows.
            "gunicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }


def configure_logging(level):
    """Install the JSON handler on the ``inference`` loggers unless Gunicorn's config already did."""
    logger = logging.getLogger("inference")
    if logger.handlers:
        for name in ("inference", "inference.access"):
            logging.getLogger(name).setLevel(level.upper())
        return
    config = dict_config(level)
    config["loggers"] = {name: config["loggers"][name] for name in ("inference", "inference.access")}
    del config["root"]  # outside Gunicorn, leave the host program's root logger alone
    logging.config.dictConfig(config)
