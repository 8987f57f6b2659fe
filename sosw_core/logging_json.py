"""One JSON object per log line, in the shape of AWS Lambda Powertools' Logger output.

Every record becomes ``{"level", "location", "message", "timestamp", "service", "logger", ...}``
plus every ``extra=`` field the call passed (``task_id``, ``labourer_id``, ``job_id`` ...), and
``exception``/``exception_name`` when it carries one. CloudWatch Logs Insights can then filter
on ``task_id`` directly.

The library never configures logging: only the Lambda entry points (``essentials/``) call
:func:`setup_lambda_logging`, once per container.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

LOG_LEVEL_ENV = ("POWERTOOLS_LOG_LEVEL", "LOG_LEVEL")
OUR_LOGGERS = ("sosw_core", "essentials", "workers")

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime",
                                                                             "taskName"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON; values that are not JSON are written with ``str``."""

    def __init__(self, service: str = "sosw-core"):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "level": record.levelname,
            "location": f"{record.funcName}:{record.lineno}",
            "message": record.getMessage(),
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
                                 .replace("+00:00", "Z"),
            "service": self.service,
            "logger": record.name,
        }
        entry.update((k, v) for k, v in vars(record).items() if k not in _STANDARD and k not in entry)
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = self.formatException(record.exc_info)
            entry["exception_name"] = record.exc_info[0].__name__
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str, ensure_ascii=False)


def _level() -> str:
    for name in LOG_LEVEL_ENV:
        if os.environ.get(name):
            return os.environ[name].upper()
    return "INFO"


def setup_lambda_logging(service: str) -> logging.Logger | Any:
    """Make every log record of this process one JSON line; returns the logger to use.

    With ``aws_lambda_powertools`` installed: its ``Logger(service=...)``, whose configuration
    is copied to our package loggers (``sosw_core``, ``essentials``, ``workers``). Without it:
    :class:`JsonFormatter` on the root logger's handlers (the Lambda runtime installs one; a
    stdout handler is added if there is none). Calling it again changes nothing more.
    """
    try:
        from aws_lambda_powertools import Logger
        from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
    except ImportError:
        pass  # the standard-library formatter below produces the same shape
    else:
        powertools_logger = Logger(service=service, level=_level())
        for name in OUR_LOGGERS:
            logging.getLogger(name)  # registered now, so that the copy reaches their children
        copy_config_to_registered_loggers(source_logger=powertools_logger, include=set(OUR_LOGGERS))
        return powertools_logger
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stdout))
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter(service))
    root.setLevel(_level())
    return root
