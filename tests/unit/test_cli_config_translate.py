"""``sosw-core config from-sosw07``: a realistic sosw 0.7 deployment's configs translate into a config
that loads; what cannot be translated is refused with the key and its replacement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sosw_core.cli.main import main
from sosw_core.cli.sosw07_config import UntranslatableConfig, translate
from sosw_core.config import config_from_dict

TWEETER = "sosw_tutorial_pull_tweeter_hashtags"
TWEETER_ARN = f"arn:aws:lambda:us-west-2:000000000000:function:{TWEETER}"
REPORTS_ARN = "arn:aws:lambda:us-west-2:000000000000:function:reports"

# What a sosw 0.7 deployment kept in its config table, after sosw's examples/essentials/.config,
# the tutorial's labourer.json and TaskManager's documented labourer (health metric on RDS CPU).
LABOURERS = {
    TWEETER: {"max_simultaneous_invocations": 3, "arn": TWEETER_ARN},
    "reports": {
        "arn": REPORTS_ARN,
        "max_duration": 300,
        "health_metrics": {
            "SomeDBCPU": {
                "details": {"MetricName": "CPUUtilization", "Namespace": "AWS/RDS", "Period": 60,
                            "Statistics": ["Average"],
                            "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": "YOUR-DB"}]},
                "feelings": {"3": 50, "4": 25},
                "feeling_comparison_operator": "le",
            },
            "QueueAge": {
                "details": {"MetricName": "ApproximateAgeOfOldestMessage", "Namespace": "AWS/SQS",
                            "Statistics": ["Maximum"], "MetricAggregationTimeSlice": 900},
                "feelings": {"2": 3600, "4": 600},
                "feeling_comparison_operator": "__le__",
            },
        },
    },
}
SOSW07_FILES = {
    "sosw_orchestrator_config.json": {
        "init_clients": ["Task"],
        "invocation_number_coefficient": {"0": 0, "1": 0, "2": 0.5, "3": 0.75, "4": 1},
        "task_config": {"labourers": LABOURERS, "max_attempts": 4, "max_attempts_reports": 6,
                        "dynamo_db_config": {"table_name": "sosw_tasks", "index_greenfield": "sosw_tasks_greenfield"},
                        "sosw_closed_tasks_table": "sosw_closed_tasks", "sosw_retry_tasks_table": "sosw_retry_tasks",
                        "greenfield_invocation_delta": 31557600},
    },
    "sosw_scheduler_config.json": {
        "dynamo_db_config": {"table_name": "sosw_tasks"},
        "job_schema": {"chunkable_attrs": [["topic", {}], ["word", {}]]},
        "queue_bucket": "sosw-s3-000000000000", "shutdown_period": 60, "rows_to_process": 50,
        "task_config": {"labourers": LABOURERS},
    },
    "sosw_scavenger_config.json": {
        "sns_config": {"recipient": "arn:aws:sns:us-west-2:000000000000:sosw_info", "subject": "``sosw`` Info"},
        "retry_tasks_limit": 20, "task_config": {"labourers": LABOURERS, "max_attempts": 4, "max_attempts_reports": 6},
    },
    "sosw_worker_assistant_config.json": {"task_config": {}, "dynamo_db_config": {"table_name": "sosw_tasks"}},
}


def write(folder: Path, files: dict[str, object]) -> list[str]:
    for name, document in files.items():
        (folder / name).write_text(json.dumps(document))
    return [str(folder / name) for name in files]


def test_a_sosw07_deployment_translates_into_a_config_that_loads(tmp_path, capsys):
    out = tmp_path / "sosw.json"
    assert main(["config", "from-sosw07", *write(tmp_path, SOSW07_FILES), "--out", str(out)]) == 0
    config = config_from_dict(json.loads(out.read_text()))

    tweeter, reports = config.labourers
    assert (tweeter.id, tweeter.arn, tweeter.max_simultaneous_invocations, tweeter.max_attempts) == (
        TWEETER, TWEETER_ARN, 3, 4)
    assert (reports.arn, reports.max_simultaneous_invocations, reports.max_attempts, reports.max_duration_seconds) == (
        REPORTS_ARN, 1, 6, 300)  # sosw 0.7's default concurrency: one at a time
    cpu, age = reports.health_metrics
    assert (cpu.name, cpu.namespace, cpu.metric_name, cpu.dimensions, cpu.comparison, cpu.feelings) == (
        "SomeDBCPU", "AWS/RDS", "CPUUtilization", (("DBInstanceIdentifier", "YOUR-DB"),), "le", ((3, 50), (4, 25)))
    assert (cpu.statistic, cpu.period_seconds, cpu.lookback_seconds) == ("Average", 60, 300)  # sosw's defaults
    assert (age.statistic, age.period_seconds, age.lookback_seconds, age.comparison) == ("Maximum", 60, 900, "le")
    assert config.tables.tasks == "sosw_tasks"
    assert config.alerts_topic_arn == "arn:aws:sns:us-west-2:000000000000:sosw_info"
    assert (config.scavenger.batch_limit, config.scheduler.time_margin_seconds) == (20, 60)
    assert config.scheduler.job_schema_variants == (("default", ("topic", "word")),)
    assert config.orchestrator.status_coefficients == (0, 0, 0.5, 0.75, 1)

    notes = capsys.readouterr().err
    for dropped in ("init_clients", "task_config.sosw_closed_tasks_table", "queue_bucket", "rows_to_process",
                    "task_config.dynamo_db_config.index_greenfield", "sns_config.subject"):
        assert f"dropped {dropped}:" in notes
    assert f"task_config.labourers.{TWEETER}: no max_duration" in notes


def test_stdout_is_the_document(tmp_path, capsys):
    files = write(tmp_path, {"c.json": {"task_config": {"labourers": {"w": {"arn": "w-fn"}}}}})
    assert main(["config", "from-sosw07", *files]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["labourers"] == [{"id": "w", "arn": "w-fn", "max_simultaneous_invocations": 1, "max_attempts": 3,
                                      "health_metrics": [], "accept_sosw07_reports": True}]


@pytest.mark.parametrize(("labourer", "task_config", "concurrency", "attempts"), [
    ({}, {}, 1, 3),
    ({"max_simultaneous_invocations": 0}, {"max_simultaneous_invocations": 5}, 0, 3),  # the labourer's own, as is
    ({}, {"max_simultaneous_invocations": 5, "max_attempts": 2}, 5, 2),
    ({"max_attempts": 7}, {"max_attempts_w": 6}, 1, 7),
    ({}, {"max_attempts_w": 0, "max_attempts": 2}, 1, 2),  # sosw skipped a 0 there
])
def test_fallbacks_are_sosw07s(labourer, task_config, concurrency, attempts):
    document = translate([("c", {"task_config": {**task_config, "labourers": {"w": labourer}}})]).document
    (lab,) = document["labourers"]
    assert (lab["max_simultaneous_invocations"], lab["max_attempts"]) == (concurrency, attempts)


def test_every_untranslatable_key_is_named_with_its_replacement_and_nothing_is_written(tmp_path, capsys):
    bad = {"labourers": {"a": {}}, "custom_period_patterns": ["x"], "frobnicate": 1,
           "invocation_number_coefficient": {"0": 0, "1": 0.25, "2": 0.5, "3": 0.75, "4": 1},
           "task_config": {"labourers": {"b": {"duration": 5, "health": 4, "colour": "red", "health_metrics": {"m": {
               # TaskManager's docstring example: `Name` (CloudWatch refused it) and an operator symbol
               "details": {"Name": "CPUUtilization", "Namespace": "AWS/RDS", "Unit": "Percent"},
               "feelings": {"4": 1}, "feeling_comparison_operator": "eq"}}}}}}
    out = tmp_path / "out.json"
    assert main(["config", "from-sosw07", *write(tmp_path, {"bad.json": bad}), "--out", str(out)]) == 1
    assert not out.exists()
    err = capsys.readouterr().err
    for line in ("labourers: sosw 0.7 read labourers only under task_config",
                 "custom_period_patterns: register the patterns in code (sosw_core.domain.periods)",
                 "frobnicate: not a sosw 0.7 key",
                 "invocation_number_coefficient: sosw 0.7.51 never used [0, 0.25, 0.5, 0.75, 1]",
                 "set orchestrator.status_coefficients",
                 "task_config.labourers.b.duration: use max_duration_seconds",
                 "task_config.labourers.b.health: computed by sosw 0.7",
                 "task_config.labourers.b.colour: not a labourer setting",
                 "task_config.labourers.b.health_metrics.m.details.Name: use MetricName",
                 "task_config.labourers.b.health_metrics.m.details.MetricName: required",
                 "task_config.labourers.b.health_metrics.m.details.Unit: not supported",
                 "task_config.labourers.b.health_metrics.m.feeling_comparison_operator: 'eq'; use one of lt, le"):
        assert line in err, line
    assert "11 key(s) of the sosw 0.7 config cannot be translated" in err


def test_files_that_disagree_are_refused_naming_both(tmp_path, capsys):
    files = write(tmp_path, {"a.json": {"task_config": {"labourers": {"w": {"max_simultaneous_invocations": 3}}}},
                             "b.json": {"task_config": {"labourers": {"w": {"max_simultaneous_invocations": 4}}}}})
    assert main(["config", "from-sosw07", *files]) == 1
    err = capsys.readouterr().err
    assert "task_config.labourers.w.max_simultaneous_invocations:" in err
    assert "a.json says 3" in err and "b.json says 4" in err


def test_out_of_order_feelings_are_refused_when_the_translation_loads():
    metric = {"details": {"MetricName": "Lag", "Namespace": "App"}, "feelings": {"3": 25, "4": 50},
              "feeling_comparison_operator": "le"}
    with pytest.raises(Exception, match="feelings") as error:
        translate([("c", {"task_config": {"labourers": {"w": {"health_metrics": {"lag": metric}}}}})])
    assert not isinstance(error.value, UntranslatableConfig)  # the loader's ConfigError, naming the sosw-core key


def test_help(capsys):
    with pytest.raises(SystemExit) as done:
        main(["config", "from-sosw07", "--help"])
    assert done.value.code == 0
    assert "sosw 0.7" in capsys.readouterr().out


def test_the_example_files_of_the_migration_guide(capsys):
    examples = Path(__file__).resolve().parents[2] / "examples" / "sosw07"
    files = [str(examples / f"sosw_{name}_config.json") for name in ("orchestrator", "scheduler", "scavenger")]
    assert main(["config", "from-sosw07", *files]) == 0
    config = config_from_dict(json.loads(capsys.readouterr().out))
    assert [(lab.id, lab.max_simultaneous_invocations, lab.max_attempts) for lab in config.labourers] == [
        (TWEETER, 3, 4), ("reports", 1, 4)]
    assert main(["config", "from-sosw07", str(examples / "untranslatable.json")]) == 1
    assert "3 key(s)" in capsys.readouterr().err
