"""Secrets in Python logging.

While a run is active, every log record (of any logger: httpx logs each request URL at INFO,
httpcore the response headers at DEBUG, a connector may quote a server's answer) has the
run's secrets masked, so an application that turns logging on never writes them.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

_log_lock = threading.Lock()
_log_redactors: tuple = ()
_log_factory_installed = False


def mask_logs(redactor) -> None:
    """Mask `redactor`'s secrets in log records until `unmask_logs(redactor)`."""
    global _log_redactors, _log_factory_installed
    with _log_lock:
        if not _log_factory_installed:
            previous = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                record = previous(*args, **kwargs)
                redactors = _log_redactors
                if redactors:
                    _redact_record(record, redactors)
                return record

            logging.setLogRecordFactory(factory)
            _log_factory_installed = True
        _log_redactors = _log_redactors + (redactor,)


def unmask_logs(redactor) -> None:
    global _log_redactors
    with _log_lock:
        redactors = list(_log_redactors)
        if redactor in redactors:
            redactors.remove(redactor)
        _log_redactors = tuple(redactors)


def _redact_record(record, redactors) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string is the handler's to report
        message = str(record.msg)
    clean = message
    for redactor in redactors:
        clean = redactor.text(clean)
    if clean != message:
        record.msg, record.args = clean, ()
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        text = logging.Formatter().formatException(record.exc_info)
        clean = text
        for redactor in redactors:
            clean = redactor.text(clean)
        if clean != text:
            record.exc_text = clean
