"""Logging set-up for the server process."""

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level):
    """Send the ``inference`` loggers to stderr at ``level`` (idempotent)."""
    logger = logging.getLogger("inference")
    logger.setLevel(level)
    if not any(getattr(h, "_inference", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(FORMAT))
        handler._inference = True
        logger.addHandler(handler)
        logger.propagate = False
