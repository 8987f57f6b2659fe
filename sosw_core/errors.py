"""The exception hierarchy of sosw-core: one base, a few precise kinds.

Every error names what was wrong (a field, a path, a key and its layer) and the rule it broke.
"""

from __future__ import annotations


class SoswError(Exception):
    """Base of every error sosw-core raises on purpose."""


class InvalidJob(SoswError):
    """A Scheduler job breaks the job format; nothing was written."""

    def __init__(self, path: str, rule: str):
        self.path = path
        self.rule = rule
        super().__init__(f"{path}: {rule}")


class ConfigError(SoswError):
    """A configuration value is unknown, of the wrong type or inconsistent."""

    def __init__(self, key: str, rule: str, layer: str | None = None):
        self.key = key
        self.rule = rule
        self.layer = layer
        where = f" (from {layer})" if layer else ""
        super().__init__(f"config {key}{where}: {rule}")


class InvalidEvent(SoswError):
    """A Lambda event (worker report, scheduler call) is malformed; no state was changed."""

    def __init__(self, field: str, rule: str):
        self.field = field
        self.rule = rule
        super().__init__(f"event {field}: {rule}")


class InvalidTask(SoswError):
    """A task cannot be created as given (bad id, unknown labourer, payload too large)."""

    def __init__(self, field: str, rule: str):
        self.field = field
        self.rule = rule
        super().__init__(f"task {field}: {rule}")


class UnknownLabourer(InvalidTask):
    def __init__(self, labourer_id: str):
        self.labourer_id = labourer_id
        super().__init__("labourer_id", f"no labourer named {labourer_id!r} is configured")


class TaskNotFound(SoswError):
    def __init__(self, task_id: str):
        self.task_id = task_id
        super().__init__(f"no task with task_id {task_id!r}")


class ReportRejected(SoswError):
    """A worker report (completion, failure, heartbeat) was refused; the task is unchanged.

    ``reason`` is one of the ``REJECT_*`` constants in :mod:`sosw_core.domain.outcomes`.
    """

    def __init__(self, task_id: str, reason: str):
        self.task_id = task_id
        self.reason = reason
        super().__init__(f"report for task {task_id!r} rejected: {reason}")


class AttemptSuperseded(SoswError):
    """This attempt of a task is no longer current: its lease ran out and the task was retried,
    or it was closed. A worker that gets it should stop working (what it reports is ignored).

    Raised by :meth:`sosw_core.Worker.ensure_current`.
    """

    def __init__(self, task_id: str, attempt: int):
        self.task_id = task_id
        self.attempt = attempt
        super().__init__(f"attempt {attempt} of task {task_id!r} is no longer current "
                         "(its lease ran out, or the task closed): stop working on it")


class InvokeError(SoswError):
    """An asynchronous invocation was not accepted (the function will not run for it)."""

    def __init__(self, function_name: str, reason: str):
        self.function_name = function_name
        self.reason = reason
        super().__init__(f"invoke {function_name}: {reason}")


class StoreUnavailable(SoswError):
    """DynamoDB could not be reached, or a table is missing; the message says which and how to fix."""


class BatchIncomplete(SoswError):
    """The store kept returning unprocessed items after every retry; nothing was dropped silently."""
