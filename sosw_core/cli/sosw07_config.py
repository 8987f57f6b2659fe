"""A sosw 0.7 config, translated into a sosw-core config (``sosw-core config from-sosw07``).

sosw 0.7 kept one JSON config per essential (``sosw_orchestrator_config``,
``sosw_scheduler_config``, ``sosw_scavenger_config``, ``sosw_worker_assistant_config``, and the
shared ``sosw_essential_config``), labourers under ``task_config.labourers``. Give the command
every file you have: they are merged key by key (a value set differently in two files is an
error naming both), then translated as sosw 0.7 read them:

* a labourer's ``max_simultaneous_invocations``, when it sets none, is
  ``task_config.max_simultaneous_invocations``, else 1; its ``max_attempts``
  ``task_config.max_attempts_<id>`` (unless 0), else ``task_config.max_attempts``, else 3
  (sosw 0.7's fallbacks); both are written explicitly;
* a health metric's ``details`` (the kwargs sosw passed to ``GetMetricStatistics``) become
  ``namespace``/``metric_name``/``dimensions``/``statistic``/``period_seconds``/
  ``lookback_seconds``, defaults from ``task_config.ecology_config.default_metric_values``
  (sosw's own: Average, 60 s, 300 s);
* keys that describe sosw 0.7's own machinery (S3 queue files, greenfields, the closed and retry
  tables, field names) are dropped, each named in a note on stderr;
* every other key is an error that names it and its replacement; nothing is written then.

The result is checked by loading it (:func:`sosw_core.config.config_from_dict`) before printing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sosw_core.config.layers import config_from_dict
from sosw_core.errors import SoswError

# sosw 0.7.51's defaults (managers/task.py, managers/ecology.py, orchestrator.py).
SOSW07_MAX_SIMULTANEOUS = 1
SOSW07_MAX_ATTEMPTS = 3
SOSW07_COEFFICIENTS = (0, 0, 0.5, 0.75, 1)
SOSW07_METRIC_DEFAULTS = {"Period": 60, "Statistics": ["Average"], "MetricAggregationTimeSlice": 300}

OPERATORS = {"lt": "lt", "le": "le", "gt": "gt", "ge": "ge", "<": "lt", "<=": "le", ">": "gt", ">=": "ge",
             **{f"__{name}__": name for name in ("lt", "le", "gt", "ge")}}

_NO_QUEUE_FILES = "sosw-core keeps no S3 queue files (the job's cursor is in the jobs table)"
_ONE_TABLE = "sosw-core keeps every task, closed or retrying, in tables.tasks (see retention.*)"
_NO_GREENFIELD = "sosw-core names task states instead of encoding them in greenfields"
_OWN_SCHEMA = "the sosw-core tables have a fixed schema (sosw_core/adapters/dynamodb/models.py)"
_WIRING = "sosw-core wires its clients in code"

# Keys dropped with a note: sosw 0.7 machinery that sosw-core replaces. Paths use "*" for any key.
DROPPED = {
    "init_clients": _WIRING, "task_config.init_clients": _WIRING,
    "task_config.ecology_config.init_clients": _WIRING, "siblings_config": _WIRING,
    "ecology_config": "sosw 0.7 did not read it here (the TaskManager reads task_config.ecology_config)",
    "meta_handler_config": "sosw-core writes no meta table: task events are logs and EMF metrics",
    "default_simultaneous_invocations": "sosw 0.7 never read it",
    "max_simultaneous_invocations": "sosw 0.7 never read it here (a labourer's own value, else "
                                    "task_config.max_simultaneous_invocations, else 1)",
    "queue_bucket": _NO_QUEUE_FILES, "queue_file": _NO_QUEUE_FILES, "s3_prefix": _NO_QUEUE_FILES,
    "rows_to_process": _NO_QUEUE_FILES, "task_operational_overhead_for_ddb": _NO_QUEUE_FILES,
    "sns_config.subject": "alerts have a fixed subject",
    "task_config.sosw_closed_tasks_table": _ONE_TABLE, "task_config.sosw_retry_tasks_table": _ONE_TABLE,
    "task_config.sosw_closed_tasks_labourer_status_index": _ONE_TABLE,
    "task_config.sosw_retry_tasks_greenfield_index": _ONE_TABLE,
    "task_config.greenfield_invocation_delta": _NO_GREENFIELD,
    "task_config.greenfield_task_step": _NO_GREENFIELD,
    "task_config.max_closed_to_analyse_for_duration": "the lease is labourers[].max_duration_seconds",
    **{f"{prefix}dynamo_db_config.{key}": _OWN_SCHEMA for prefix in ("", "task_config.")
       for key in ("index_greenfield", "row_mapper", "required_fields", "field_names")},
}

# Keys refused with what to use instead.
REPLACED = {
    "labourers": "sosw 0.7 read labourers only under task_config (this key had no effect): move them "
                 "to task_config.labourers",
    "custom_period_patterns": "register the patterns in code (sosw_core.domain.periods)",
    "dead_sns_topic": "a worker setting: sosw-core alerts go to alerts_topic_arn",
    "sosw_worker_assistant_lambda": "a worker setting: set SOSW_WORKER_ASSISTANT_FUNCTION in the worker's "
                                    "environment",
}
LABOURER_REPLACED = {
    "duration": "use max_duration_seconds (the lease)", "cooldown": "use max_duration_seconds (the lease)",
    **{key: "computed by sosw 0.7 at run time; remove it" for key in
       ("start", "invoked", "expired", "health", "average_duration")},
}
DETAILS = {"Namespace": "namespace", "MetricName": "metric_name"}
DETAILS_REPLACED = {
    "Name": "use MetricName (CloudWatch refused Name)",
    "Unit": "not supported: the metric is read in any unit",
    "ExtendedStatistics": "use Statistics with one of SampleCount, Average, Sum, Minimum, Maximum",
    "StartTime": "use MetricAggregationTimeSlice (the window before now)",
    "EndTime": "use MetricAggregationTimeSlice (the window before now)",
}


class UntranslatableConfig(SoswError):
    """Keys of a sosw 0.7 config with no sosw-core translation, each with what to do instead."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} key(s) of the sosw 0.7 config cannot be translated:\n  "
                         + "\n  ".join(self.problems))


@dataclass
class Translation:
    document: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def put(self, path: Sequence[str], value: Any) -> None:
        node = self.document
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value


def merge_documents(documents: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """One sosw 0.7 config from several: objects merge key by key; different leaves are an error."""
    merged: dict[str, Any] = {}
    origin: dict[tuple[str, ...], str] = {}
    conflicts: list[str] = []

    def walk(into: dict[str, Any], value: Mapping[str, Any], name: str, path: tuple[str, ...]) -> None:
        for key, sub in value.items():
            where = (*path, str(key))
            if isinstance(sub, Mapping) and isinstance(into.get(key, {}), dict):
                walk(into.setdefault(key, {}), sub, name, where)
            elif key in into and into[key] != sub:
                conflicts.append(f"{'.'.join(where)}: {origin[where]} says {into[key]!r}, {name} says {sub!r}; "
                                 "make them agree")
            else:
                into[key] = sub
                origin.setdefault(where, name)

    for name, document in documents:
        if not isinstance(document, Mapping):
            raise UntranslatableConfig([f"{name}: a sosw 0.7 config is a JSON object"])
        walk(merged, document, name, ())
    if conflicts:
        raise UntranslatableConfig(conflicts)
    return merged


def translate(documents: Sequence[tuple[str, Mapping[str, Any]]]) -> Translation:
    """The sosw-core document for these sosw 0.7 configs (name, parsed JSON), with its notes.

    Raises :class:`UntranslatableConfig` listing every key it cannot translate.
    """
    config = merge_documents(documents)
    out = Translation()
    task_config = config.get("task_config") or {}
    _translate_labourers(task_config, out)
    _translate_top(config, out)
    if out.problems:
        raise UntranslatableConfig(out.problems)
    config_from_dict(out.document, layer="the translated sosw 0.7 config")
    return out


def _table(value: Any, out: Translation, path: str) -> None:
    previous = out.document.get("tables", {}).get("tasks")
    if previous is not None and previous != value:
        out.problems.append(f"{path}: {value!r} differs from another tasks table ({previous!r}); "
                            "sosw-core has one tasks table (tables.tasks)")
    out.put(("tables", "tasks"), value)


def _drop(path: str, out: Translation) -> bool:
    if path in DROPPED:
        out.notes.append(f"dropped {path}: {DROPPED[path]}")
        return True
    return False


def _translate_top(config: Mapping[str, Any], out: Translation) -> None:
    handlers: dict[str, Callable[[Any], None]] = {
        "task_config": lambda value: _translate_task_config(value, out),
        "invocation_number_coefficient": lambda value: _coefficients(value, out),
        "shutdown_period": lambda value: out.put(("scheduler", "time_margin_seconds"), value),
        "retry_tasks_limit": lambda value: out.put(("scavenger", "batch_limit"), value),
        "sns_config": lambda value: _nested(value, "sns_config", {
            "recipient": lambda topic: out.put(("alerts_topic_arn",), topic)}, out),
        "dynamo_db_config": lambda value: _nested(value, "dynamo_db_config", {
            "table_name": lambda table: _table(table, out, "dynamo_db_config.table_name")}, out),
    }
    for key, value in config.items():
        if key in handlers:
            handlers[key](value)
        elif key not in ("job_schema", "job_schema_variants"):
            _unknown(key, out)
    _job_schemas(config, out)


def _nested(value: Any, prefix: str, handlers: Mapping[str, Callable[[Any], None]], out: Translation) -> None:
    if not isinstance(value, Mapping):
        out.problems.append(f"{prefix}: must be an object")
        return
    for key, sub in value.items():
        if key in handlers:
            handlers[key](sub)
        else:
            _unknown(f"{prefix}.{key}", out)


def _unknown(path: str, out: Translation) -> None:
    if _drop(path, out):
        return
    last = path.rsplit(".", 1)[-1]
    if path in REPLACED:
        out.problems.append(f"{path}: {REPLACED[path]}")
    elif last.startswith("max_attempts_") and path.startswith("task_config."):
        return  # read per labourer in _labourer
    else:
        out.problems.append(f"{path}: not a sosw 0.7 key sosw-core knows; see docs/migrating-from-sosw.md "
                            "(Config keys) for what replaces it")


def _translate_task_config(task_config: Any, out: Translation) -> None:
    _nested(task_config, "task_config", {
        "labourers": lambda value: None,  # _translate_labourers
        "max_simultaneous_invocations": lambda value: None,  # a fallback read per labourer
        "max_attempts": lambda value: None,
        "dynamo_db_config": lambda value: _nested(value, "task_config.dynamo_db_config", {
            "table_name": lambda table: _table(table, out, "task_config.dynamo_db_config.table_name")}, out),
        "ecology_config": lambda value: _nested(value, "task_config.ecology_config", {
            "default_metric_values": lambda v: None}, out),  # read per metric
    }, out)


def _coefficients(value: Any, out: Translation) -> None:
    """sosw 0.7.51 merged this object into its default, whose keys are the integers 0..4, and took
    the first key equal to the status: keys read from JSON are strings, so its defaults won."""
    try:
        by_status = {int(status): coefficient for status, coefficient in value.items()}
        wanted = [by_status[status] for status in range(5)]
    except (AttributeError, KeyError, TypeError, ValueError):
        out.problems.append(f"invocation_number_coefficient: must map every status 0..4 to a number, got {value!r}")
        return
    if wanted != list(SOSW07_COEFFICIENTS):
        out.problems.append(
            f"invocation_number_coefficient: sosw 0.7.51 never used {wanted} from a JSON config (its defaults "
            f"{list(SOSW07_COEFFICIENTS)}, keyed by the integers 0..4, won over the config's string keys); set "
            "orchestrator.status_coefficients to the coefficients you want, and remove this key")


def _job_schemas(config: Mapping[str, Any], out: Translation) -> None:
    variants = dict(config.get("job_schema_variants") or {})
    if "job_schema" in config and "default" not in variants:
        out.notes.append("job_schema became job_schema_variants.default: sosw 0.7 ignored job_schema once a "
                         "job was applied (its default variant had no chunkable_attrs)")
        variants["default"] = config["job_schema"]
    elif "job_schema" in config:
        out.notes.append("dropped job_schema: job_schema_variants.default replaced it for every job")
    levels: dict[str, list[str]] = {}
    for name, schema in variants.items():
        path = f"job_schema_variants.{name}"
        if not isinstance(schema, Mapping) or set(schema) != {"chunkable_attrs"}:
            out.problems.append(f"{path}: must be {{\"chunkable_attrs\": [[\"<level>\", {{}}], ...]}}")
            continue
        try:
            levels[name] = [str(attr[0]) for attr in schema["chunkable_attrs"]]
        except (IndexError, KeyError, TypeError):
            out.problems.append(f"{path}.chunkable_attrs: must be a list of [\"<level>\", {{}}] pairs")
    if levels:
        out.put(("scheduler", "job_schema_variants"), levels)


def _translate_labourers(task_config: Any, out: Translation) -> None:
    if not isinstance(task_config, Mapping):
        return  # reported by _translate_task_config
    labourers = task_config.get("labourers") or {}
    if not isinstance(labourers, Mapping):
        out.problems.append("task_config.labourers: must be an object of labourer id → settings")
        return
    defaults = {**SOSW07_METRIC_DEFAULTS,
                **((task_config.get("ecology_config") or {}).get("default_metric_values") or {})}
    out.document["labourers"] = [_labourer(str(labourer_id), settings, task_config, defaults, out)
                                 for labourer_id, settings in labourers.items()]


def _labourer(labourer_id: str, settings: Any, task_config: Mapping[str, Any], metric_defaults: Mapping[str, Any],
              out: Translation) -> dict[str, Any]:
    path = f"task_config.labourers.{labourer_id}"
    if not isinstance(settings, Mapping):
        out.problems.append(f"{path}: must be an object")
        return {"id": labourer_id}
    result: dict[str, Any] = {"id": labourer_id}
    if "arn" in settings:
        result["arn"] = settings["arn"]
    # sosw 0.7 (TaskManager.register_labourers) set a labourer's own settings last, as they are (0
    # included); without one it took task_config's value (its default: 1), and for attempts
    # `max_attempts_<id>` unless 0 or null, else `max_attempts` (default 3).
    result["max_simultaneous_invocations"] = settings.get(
        "max_simultaneous_invocations", task_config.get("max_simultaneous_invocations", SOSW07_MAX_SIMULTANEOUS))
    result["max_attempts"] = settings.get("max_attempts", task_config.get(f"max_attempts_{labourer_id}")
                                          or task_config.get("max_attempts", SOSW07_MAX_ATTEMPTS))
    if "max_duration" in settings:
        result["max_duration_seconds"] = settings["max_duration"]
    else:
        out.notes.append(f"{path}: no max_duration; sosw 0.7 used the function's Lambda timeout, sosw-core "
                         "leases for labourers[].max_duration_seconds (default 900): set it to that timeout")
    metrics = settings.get("health_metrics") or {}
    result["health_metrics"] = [_metric(str(name), metric, f"{path}.health_metrics.{name}", metric_defaults, out)
                                for name, metric in metrics.items()]
    # Its workers are sosw 0.7 workers until they are rewritten: accept their tokenless reports
    # (IAM invoke permission on the WorkerAssistant is then the gate, as in sosw 0.7).
    result["accept_sosw07_reports"] = True
    known = {"arn", "max_simultaneous_invocations", "max_attempts", "max_duration", "health_metrics"}
    for key in settings:
        if key in LABOURER_REPLACED:
            out.problems.append(f"{path}.{key}: {LABOURER_REPLACED[key]}")
        elif key not in known:
            out.problems.append(f"{path}.{key}: not a labourer setting (sosw 0.7 raised ValueError on it)")
    return result


def _metric(name: str, metric: Any, path: str, defaults: Mapping[str, Any], out: Translation) -> dict[str, Any]:
    result: dict[str, Any] = {"name": name}
    if not isinstance(metric, Mapping) or not isinstance(metric.get("details"), Mapping):
        out.problems.append(f"{path}: must be an object with details, feelings and feeling_comparison_operator")
        return result
    for key in sorted(set(metric) - {"details", "feelings", "feeling_comparison_operator"}):
        out.problems.append(f"{path}.{key}: not a health metric setting")
    result.update(_details({**defaults, **metric["details"]}, f"{path}.details", out))
    operator = metric.get("feeling_comparison_operator")
    if operator not in OPERATORS:
        out.problems.append(f"{path}.feeling_comparison_operator: {operator!r}; use one of lt, le, gt, ge")
    else:
        result["comparison"] = OPERATORS[operator]
    result["feelings"] = {str(status): threshold for status, threshold in (metric.get("feelings") or {}).items()}
    return result


def _details(details: Mapping[str, Any], path: str, out: Translation) -> dict[str, Any]:
    """A metric's ``details`` (GetMetricStatistics kwargs, sosw's defaults filled in) as sosw-core keys."""
    result: dict[str, Any] = {}
    for key in ("Namespace", "MetricName"):
        if key not in details:
            out.problems.append(f"{path}.{key}: required (the CloudWatch metric to read)")
    for key, value in details.items():
        if key in DETAILS:
            result[DETAILS[key]] = value
        elif key == "Dimensions":
            if not isinstance(value, list) or not all(isinstance(d, Mapping) and set(d) == {"Name", "Value"}
                                                      for d in value):
                out.problems.append(f'{path}.Dimensions: must be a list of {{"Name", "Value"}} objects')
            else:
                result["dimensions"] = {d["Name"]: d["Value"] for d in value}
        elif key == "Period":
            result["period_seconds"] = value
        elif key == "MetricAggregationTimeSlice":
            result["lookback_seconds"] = value
        elif key == "Statistics" and isinstance(value, list) and len(value) == 1:
            result["statistic"] = value[0]
        elif key == "Statistics":
            out.problems.append(f"{path}.Statistics: must name exactly one statistic, got {value!r}")
        else:
            advice = DETAILS_REPLACED.get(key, "not a GetMetricStatistics key sosw-core reads")
            out.problems.append(f"{path}.{key}: {advice}")
    return result
