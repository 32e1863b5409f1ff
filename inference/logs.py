"""JSON logs, one object per line, for the app and for Gunicorn itself. The request log has its
own writer (``inference.accesslog``).

Request bodies are never logged: they may hold patient data.
"""

import logging
import logging.config

from gunicorn import glogging

JSON_FORMATTER = {
    "()": "pythonjsonlogger.orjson.OrjsonFormatter",
    "fmt": "%(levelname)s %(name)s %(message)s",
    "rename_fields": {"levelname": "level", "name": "logger"},
    "timestamp": "time",
}


def dict_config(level="INFO"):
    """A ``logging.config.dictConfig`` mapping: the inference and Gunicorn loggers as JSON on stderr."""
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": JSON_FORMATTER},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": "WARNING"},
        "loggers": {
            "inference": {"handlers": ["stderr"], "level": level, "propagate": False},
            "gunicorn.error": {"handlers": ["stderr"], "level": level, "propagate": False},
            # The app writes its own request log (inference.accesslog), with model and rows.
            "gunicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }


class GunicornLogger(glogging.Logger):
    """Gunicorn's logger (setting ``logger_class``), writing Gunicorn's own access log only when one
    is asked for (``--access-logfile``). With a logging config and no access log file, Gunicorn
    would otherwise build every request's log atoms (a strftime, a dict of the whole environ)
    and then drop them at the disabled ``gunicorn.access`` logger."""

    def access(self, resp, req, environ, request_time):
        """Gunicorn's access line, when ``accesslog`` is set."""
        if self.cfg.accesslog:
            super().access(resp, req, environ, request_time)


def configure_logging(level):
    """Install the JSON handler on the ``inference`` loggers unless Gunicorn's config already did."""
    logger = logging.getLogger("inference")
    if logger.handlers:
        logger.setLevel(level.upper())
        return
    config = dict_config(level)
    config["loggers"] = {"inference": config["loggers"]["inference"]}
    del config["root"]  # outside Gunicorn, leave the host program's root logger alone
    logging.config.dictConfig(config)
