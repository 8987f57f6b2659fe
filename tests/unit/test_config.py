"""Layered config: precedence, merging, the JSON shape, and every validation rule with key + layer."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from sosw_core.config import (
    Backoff,
    Comparison,
    HealthMetric,
    LabourerConfig,
    SchedulerConfig,
    SoswConfig,
    config_from_dict,
    config_to_dict,
    load_config,
)
from sosw_core.config.layers import Layer, merge
from sosw_core.config.loader import ENV_VARIABLES
from sosw_core.config.readers import Obj
from sosw_core.config.schema import SOSW_CONFIG
from sosw_core.domain.limits import MAX_PAYLOAD_BYTES
from sosw_core.errors import ConfigError

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"
PARAMETER = "/sosw/config"


def write(folder: Path, name: str, document: object) -> Path:
    path = folder / name
    path.write_text(json.dumps(document))
    return path


def metric_doc(**kw) -> dict:
    doc = {"name": "lag", "namespace": "NS", "metric_name": "Lag", "comparison": "le",
           "feelings": {"3": 50, "4": 25}}
    doc.update(kw)
    return doc


def labourer_doc(id: str = "w", **kw) -> dict:
    return {"id": id, **kw}


@pytest.fixture
def ssm():
    with mock_aws():
        yield boto3.client("ssm", region_name="us-east-1")


def put(ssm, document: object, name: str = PARAMETER, kind: str = "String") -> None:
    value = document if isinstance(document, str) else json.dumps(document)
    ssm.put_parameter(Name=name, Value=value, Type=kind, Overwrite=True)


def load(folder: Path, component: str = "orchestrator", environ=None, **kw) -> SoswConfig:
    return load_config(component, config_dir=folder, environ=environ or {}, **kw)


def error(folder: Path, **kw) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(folder, **kw)
    return caught.value


# --- precedence -------------------------------------------------------------------------------

def test_no_layers_gives_the_package_defaults(tmp_path):
    assert load(tmp_path) == SoswConfig()
    assert load(tmp_path / "missing") == SoswConfig()


@pytest.mark.parametrize("top", range(6))
def test_each_layer_overrides_the_ones_below(tmp_path, ssm, top):
    """Six layers set tables.tasks; with layers 0..top present, layer ``top`` wins."""
    names = ["shared", "component", "ssm", "envjson", "envvar", "override"]
    layers = names[:top + 1]
    if "shared" in layers:
        write(tmp_path, "sosw.json", {"tables": {"tasks": "t_shared"}})
    if "component" in layers:
        write(tmp_path, "orchestrator.json", {"tables": {"tasks": "t_component"}})
    kw: dict = {}
    if "ssm" in layers:
        put(ssm, {"tables": {"tasks": "t_ssm"}})
        kw.update(ssm_parameter=PARAMETER, ssm_client=ssm)
    environ = {}
    if "envjson" in layers:
        environ["SOSW_CONFIG_JSON"] = json.dumps({"tables": {"tasks": "t_envjson"}})
    if "envvar" in layers:
        environ["SOSW_TASKS_TABLE"] = "t_envvar"
    if "override" in layers:
        kw["overrides"] = {"tables": {"tasks": "t_override"}}
    assert load(tmp_path, environ=environ, **kw).tables.tasks == f"t_{names[top]}"


def test_objects_merge_key_by_key_across_layers(tmp_path):
    write(tmp_path, "sosw.json", {"tables": {"tasks": "shared_tasks"}, "dynamodb": {"max_retry_attempts": 2}})
    write(tmp_path, "orchestrator.json", {"tables": {"jobs": "component_jobs"}})
    config = load(tmp_path, overrides={"dynamodb": {"region": "eu-west-1"}})
    assert (config.tables.tasks, config.tables.jobs) == ("shared_tasks", "component_jobs")
    assert (config.dynamodb.max_retry_attempts, config.dynamodb.region) == (2, "eu-west-1")


def test_lists_replace_never_concatenate(tmp_path):
    write(tmp_path, "sosw.json", {"labourers": [labourer_doc("a"), labourer_doc("b")],
                                  "orchestrator": {"status_coefficients": [0, 0, 0.5, 0.75, 1]}})
    write(tmp_path, "orchestrator.json", {"labourers": [labourer_doc("c", max_attempts=7)]})
    config = load(tmp_path, overrides={"orchestrator": {"status_coefficients": [0, 0.1, 0.2, 0.3, 0.4]}})
    assert [lab.id for lab in config.labourers] == ["c"]
    assert config.labourer("c").max_attempts == 7
    assert config.orchestrator.status_coefficients == (0, 0.1, 0.2, 0.3, 0.4)


def test_an_empty_list_in_a_higher_layer_removes_every_labourer(tmp_path):
    write(tmp_path, "sosw.json", {"labourers": [labourer_doc("a")]})
    assert load(tmp_path, overrides={"labourers": []}).labourers == ()


def test_only_the_named_component_file_is_read(tmp_path):
    write(tmp_path, "scheduler.json", {"tables": {"tasks": "scheduler_tasks"}})
    assert load(tmp_path, "orchestrator").tables.tasks == "sosw_tasks"
    assert load(tmp_path, "scheduler").tables.tasks == "scheduler_tasks"


def test_job_schema_variants_merge_by_name_and_keep_their_order(tmp_path):
    write(tmp_path, "sosw.json", {"scheduler": {"job_schema_variants": {"b": ["x"], "a": ["y"]}}})
    config = load(tmp_path, overrides={"scheduler": {"job_schema_variants": {"b": ["z", "w"]}}})
    assert config.scheduler.job_schema_variants == (("default", ()), ("b", ("z", "w")), ("a", ("y",)))
    assert config.scheduler.chunkable_attrs(None) == ()


@pytest.mark.parametrize(("variable", "path"), ENV_VARIABLES)
def test_every_single_environment_variable_sets_its_field(tmp_path, variable, path):
    value = "http://127.0.0.1:8000" if variable == "SOSW_DYNAMODB_ENDPOINT" else "some_value.1"
    document = config_to_dict(load(tmp_path, environ={variable: value}))
    for key in path:
        document = document[key]
    assert document == value


def test_single_variables_override_sosw_config_json_and_empty_values_are_unset(tmp_path):
    environ = {"SOSW_CONFIG_JSON": json.dumps({"tables": {"tasks": "from_json", "jobs": "jobs_json"}}),
               "SOSW_TASKS_TABLE": "from_var", "SOSW_JOBS_TABLE": "", "SOSW_ALERTS_TOPIC_ARN": ""}
    config = load(tmp_path, environ=environ)
    assert (config.tables.tasks, config.tables.jobs, config.alerts_topic_arn) == ("from_var", "jobs_json", None)


def test_config_dir_defaults_to_the_env_variable_then_lambda_task_root(tmp_path):
    write(tmp_path, "sosw.json", {"tables": {"tasks": "from_env_dir"}})
    assert load_config("orchestrator", environ={"SOSW_CONFIG_DIR": str(tmp_path)}).tables.tasks == "from_env_dir"
    (tmp_path / "config").mkdir()
    write(tmp_path / "config", "sosw.json", {"tables": {"tasks": "from_task_root"}})
    config = load_config("orchestrator", environ={"LAMBDA_TASK_ROOT": str(tmp_path)})
    assert config.tables.tasks == "from_task_root"


def test_overrides_may_use_python_ints_and_tuples(tmp_path):
    doc = labourer_doc(health_metrics=(metric_doc(feelings={4: 25, 3: 50}),))
    metric = load(tmp_path, overrides={"labourers": (doc,)}).labourers[0].health_metrics[0]
    assert metric.feelings == ((3, 50.0), (4, 25.0))


def test_an_invalid_component_name_is_refused(tmp_path):
    with pytest.raises(ValueError):
        load(tmp_path, "../etc/passwd")


# --- SSM ----------------------------------------------------------------------------------------

def test_ssm_layer_reads_a_secure_string(tmp_path, ssm):
    put(ssm, {"labourers": [labourer_doc("from_ssm")]}, kind="SecureString")
    config = load(tmp_path, ssm_parameter=PARAMETER, ssm_client=ssm)
    assert [lab.id for lab in config.labourers] == ["from_ssm"]


def test_ssm_parameter_name_from_the_environment_and_a_lazily_created_client(tmp_path, ssm):
    put(ssm, {"alerts_topic_arn": "arn:aws:sns:us-east-1:123456789012:alerts"})
    config = load(tmp_path, environ={"SOSW_CONFIG_SSM_PARAMETER": PARAMETER})
    assert config.alerts_topic_arn == "arn:aws:sns:us-east-1:123456789012:alerts"


def test_a_missing_ssm_parameter_is_an_error(tmp_path, ssm):
    e = error(tmp_path, ssm_parameter="/nope", ssm_client=ssm)
    assert (e.key, e.layer) == ("document", "ssm:/nope")


def test_an_unknown_key_in_ssm_names_the_parameter(tmp_path, ssm):
    put(ssm, {"tables": {"tasx": "t"}})
    e = error(tmp_path, ssm_parameter=PARAMETER, ssm_client=ssm)
    assert (e.key, e.layer) == ("tables.tasx", f"ssm:{PARAMETER}")
    assert str(e).startswith(f"config tables.tasx (from ssm:{PARAMETER}): unknown key")


# --- the JSON shape -----------------------------------------------------------------------------

FULL = {
    "labourers": [{"id": "x", "max_simultaneous_invocations": 5, "backoff": {"base_seconds": 1},
                   "health_metrics": [metric_doc(feelings={"4": 25, "3": 50},
                                                 dimensions={"FunctionName": "x", "Alias": "live"})]}],
    "tables": {"tasks": "my_tasks"},
    "dynamodb": {"endpoint_url": "http://127.0.0.1:8000"},
    "scheduler": {"job_schema_variants": {"default": ["section", "store", "product"]}},
    "orchestrator": {"tick_seconds": 5},
}


def test_the_documented_shape_becomes_the_dataclasses():
    config = config_from_dict(FULL)
    assert config.labourers == (LabourerConfig(
        id="x", max_simultaneous_invocations=5, backoff=Backoff(base_seconds=1),
        health_metrics=(HealthMetric(name="lag", namespace="NS", metric_name="Lag", comparison=Comparison.LE,
                                     feelings=((3, 50), (4, 25)),
                                     dimensions=(("Alias", "live"), ("FunctionName", "x"))),)),)
    assert config.tables.tasks == "my_tasks" and config.tables.jobs == "sosw_jobs"
    assert config.dynamodb.endpoint_url == "http://127.0.0.1:8000"
    assert config.scheduler.chunkable_attrs("default") == ("section", "store", "product")
    assert config.orchestrator.tick_seconds == 5


def test_config_to_dict_round_trips():
    config = config_from_dict(FULL)
    assert config_from_dict(json.loads(json.dumps(config_to_dict(config)))) == config


def test_every_dataclass_field_has_a_reader():
    pending, seen = [SOSW_CONFIG], []
    while pending:
        obj = pending.pop()
        seen.append(obj.cls)
        assert set(obj.readers) == {f.name for f in fields(obj.cls)}, obj.cls
        for reader in obj.readers.values():
            inner = getattr(reader, "item", reader)
            pending += [r for r in (reader, inner) if isinstance(r, Obj) and r.cls not in seen]
    assert len(seen) >= 10


@pytest.mark.parametrize("path", sorted(REPO_CONFIG.glob("*.json")), ids=lambda p: p.name)
def test_the_repository_config_files_load(path):
    assert isinstance(load_config(path.stem, config_dir=REPO_CONFIG, environ={}), SoswConfig)


def test_the_repository_has_a_shared_config():
    assert (REPO_CONFIG / "sosw.json").is_file()


# --- errors name the key and the layer ----------------------------------------------------------

def test_unknown_keys_name_the_dotted_key_and_each_kind_of_layer(tmp_path):
    write(tmp_path, "orchestrator.json", {"labourers": [labourer_doc("a"), labourer_doc("b", backof={})]})
    e = error(tmp_path)
    assert (e.key, e.layer) == ("labourers[1].backof", str(tmp_path / "orchestrator.json"))
    (tmp_path / "orchestrator.json").unlink()

    write(tmp_path, "sosw.json", {"tabels": {}})
    assert (error(tmp_path).key, error(tmp_path).layer) == ("tabels", str(tmp_path / "sosw.json"))
    (tmp_path / "sosw.json").unlink()

    e = error(tmp_path, environ={"SOSW_CONFIG_JSON": json.dumps({"orchestrator": {"tick": 1}})})
    assert (e.key, e.layer) == ("orchestrator.tick", "env SOSW_CONFIG_JSON")

    e = error(tmp_path, overrides={"labourers": [labourer_doc(health_metrics=[metric_doc(feeling={})])]})
    assert (e.key, e.layer) == ("labourers[0].health_metrics[0].feeling", "overrides")
    assert str(e).startswith("config labourers[0].health_metrics[0].feeling (from overrides): unknown key")


def test_a_removed_key_is_an_error_that_says_what_replaces_it(tmp_path):
    """``worker_assistant_function`` was read by nothing: a config that still sets it is refused
    with the way to fix it, instead of keeping a setting that never had an effect."""
    write(tmp_path, "sosw.json", {"worker_assistant_function": "my-assistant"})
    e = error(tmp_path)
    assert (e.key, e.layer) == ("worker_assistant_function", str(tmp_path / "sosw.json"))
    assert "no longer a setting" in e.rule and "SOSW_WORKER_ASSISTANT_FUNCTION" in e.rule
    assert "worker_assistant_function" not in {f.name for f in fields(SoswConfig)}


def test_a_bad_layer_is_an_error_even_when_a_higher_layer_replaces_its_list(tmp_path):
    write(tmp_path, "sosw.json", {"labourers": [labourer_doc(backof={})]})
    e = error(tmp_path, overrides={"labourers": [labourer_doc()]})
    assert (e.key, e.layer) == ("labourers[0].backof", str(tmp_path / "sosw.json"))


@pytest.mark.parametrize(("document", "key", "expected"), [
    ({"labourers": [labourer_doc(max_attempts="3")]}, "labourers[0].max_attempts", "expected an integer, got a string"),
    ({"labourers": [labourer_doc(max_attempts=True)]}, "labourers[0].max_attempts", "expected an integer, got a boolean"),
    ({"labourers": [labourer_doc(max_attempts=3.0)]}, "labourers[0].max_attempts", "expected an integer, got a number"),
    ({"labourers": [labourer_doc(backoff={"factor": False})]}, "labourers[0].backoff.factor", "expected a number"),
    ({"labourers": [labourer_doc(chain_on_completion=1)]}, "labourers[0].chain_on_completion", "expected true or false"),
    ({"labourers": [labourer_doc(id=7)]}, "labourers[0].id", "expected a string, got an integer"),
    ({"labourers": {"id": "w"}}, "labourers", "expected an array, got an object"),
    ({"labourers": ["w"]}, "labourers[0]", "expected an object, got a string"),
    ({"tables": None}, "tables", "expected an object, got null"),
    ({"tables": {"tasks": None}}, "tables.tasks", "expected a string, got null"),
    ({"orchestrator": {"tick_seconds": float("nan")}}, "orchestrator.tick_seconds", "finite"),
    ({"labourers": [labourer_doc(health_metrics=[metric_doc(feelings=[50, 25])])]},
     "labourers[0].health_metrics[0].feelings", "expected an object, got an array"),
    ({"labourers": [labourer_doc(health_metrics=[metric_doc(feelings={"4": "25"})])]},
     "labourers[0].health_metrics[0].feelings.4", "expected a number"),
    ({"scheduler": {"job_schema_variants": {"default": "section"}}},
     "scheduler.job_schema_variants.default", "expected an array"),
])
def test_wrong_types_name_key_expected_type_and_layer(document, key, expected):
    with pytest.raises(ConfigError) as caught:
        config_from_dict(document, layer="overrides")
    assert (caught.value.key, caught.value.layer) == (key, "overrides")
    assert expected in caught.value.rule


def lab(**kw) -> dict:
    return {"labourers": [labourer_doc(**kw)]}


def met(**kw) -> dict:
    return lab(health_metrics=[metric_doc(**kw)])


M = "labourers[0].health_metrics[0]"

VALUE_RULES = [
    (lab(max_simultaneous_invocations=-1), "labourers[0].max_simultaneous_invocations"),
    (lab(max_duration_seconds=0), "labourers[0].max_duration_seconds"),
    (lab(max_attempts=0), "labourers[0].max_attempts"),
    (lab(max_invocations_per_minute=-1), "labourers[0].max_invocations_per_minute"),
    (lab(backoff={"base_seconds": -1}), "labourers[0].backoff.base_seconds"),
    (lab(backoff={"cap_seconds": -0.5}), "labourers[0].backoff.cap_seconds"),
    (lab(backoff={"factor": 0.9}), "labourers[0].backoff.factor"),
    (lab(backoff={"jitter": -0.1}), "labourers[0].backoff.jitter"),
    (lab(backoff={"jitter": 1.1}), "labourers[0].backoff.jitter"),
    (lab(id=""), "labourers[0].id"),
    (lab(id="has space"), "labourers[0].id"),
    (lab(id="slash/id"), "labourers[0].id"),
    ({"labourers": [labourer_doc("a"), labourer_doc("b"), labourer_doc("a")]}, "labourers[2].id"),
    (met(feelings={"5": 1}), f"{M}.feelings.5"),
    (met(feelings={"-1": 1}), f"{M}.feelings.-1"),
    (met(feelings={}), f"{M}.feelings"),
    (met(no_data_status=5), f"{M}.no_data_status"),
    (met(comparison="eq"), f"{M}.comparison"),
    (met(comparison="LE"), f"{M}.comparison"),
    (met(statistic="p99"), f"{M}.statistic"),
    (met(period_seconds=45), f"{M}.period_seconds"),
    (met(period_seconds=0), f"{M}.period_seconds"),
    (met(period_seconds=120, lookback_seconds=60), f"{M}.lookback_seconds"),
    (met(name=""), f"{M}.name"),
    ({"labourers": [labourer_doc(health_metrics=[{"name": "n", "namespace": "NS", "comparison": "le",
                                                  "feelings": {"4": 1}}])]}, f"{M}.metric_name"),
    ({"labourers": [{"max_attempts": 2}]}, "labourers[0].id"),
    ({"tables": {"tasks": "ab"}}, "tables.tasks"),
    ({"tables": {"jobs": "x" * 256}}, "tables.jobs"),
    ({"tables": {"tasks": "bad name"}}, "tables.tasks"),
    ({"tables": {"tasks": "bad/name"}}, "tables.tasks"),
    ({"orchestrator": {"status_coefficients": [0, 0.5, 1, 1]}}, "orchestrator.status_coefficients"),
    ({"orchestrator": {"status_coefficients": [0, 0, 0.5, 0.75, 1, 1]}}, "orchestrator.status_coefficients"),
    ({"orchestrator": {"status_coefficients": [0, 0, 0.5, 0.75, 1.5]}}, "orchestrator.status_coefficients[4]"),
    ({"orchestrator": {"status_coefficients": [-0.1, 0, 0.5, 0.75, 1]}}, "orchestrator.status_coefficients[0]"),
    ({"orchestrator": {"status_coefficients": [0, 0.6, 0.5, 0.75, 1]}}, "orchestrator.status_coefficients[2]"),
    ({"orchestrator": {"tick_seconds": 0}}, "orchestrator.tick_seconds"),
    ({"orchestrator": {"stop_margin_seconds": -1}}, "orchestrator.stop_margin_seconds"),
    ({"retention": {"dead_days": 0}}, "retention.dead_days"),
    ({"scavenger": {"batch_limit": 0}}, "scavenger.batch_limit"),
    ({"scheduler": {"max_payload_bytes": 0}}, "scheduler.max_payload_bytes"),
    ({"scheduler": {"max_payload_bytes": MAX_PAYLOAD_BYTES + 1}}, "scheduler.max_payload_bytes"),
    ({"scheduler": {"job_schema_variants": {"": ["a"]}}}, "scheduler.job_schema_variants."),
    ({"scheduler": {"job_schema_variants": {"v": [""]}}}, "scheduler.job_schema_variants.v[0]"),
    ({"dynamodb": {"endpoint_url": "127.0.0.1:8000"}}, "dynamodb.endpoint_url"),
    ({"dynamodb": {"max_retry_attempts": -1}}, "dynamodb.max_retry_attempts"),
    ({"scheduler_function": ""}, "scheduler_function"),
]


@pytest.mark.parametrize(("document", "key"), VALUE_RULES, ids=[key for _, key in VALUE_RULES])
def test_every_value_rule_names_the_key(document, key):
    with pytest.raises(ConfigError) as caught:
        config_from_dict(document, layer="overrides")
    assert (caught.value.key, caught.value.layer) == (key, "overrides")


@pytest.mark.parametrize("document", [
    lab(max_simultaneous_invocations=0, max_invocations_per_minute=0, max_duration_seconds=1, max_attempts=1,
        backoff={"base_seconds": 0, "factor": 1, "cap_seconds": 0, "jitter": 0}, arn=""),
    lab(id="A-z_0.9", backoff={"jitter": 1}, max_invocations_per_minute=None),
    met(period_seconds=1, lookback_seconds=1), met(period_seconds=30), met(period_seconds=300, lookback_seconds=600),
    met(feelings={"0": 100}, no_data_status=0, statistic="SampleCount"),
    {"tables": {"tasks": "abc", "jobs": "A.b-c_" + "x" * 249}},
    {"orchestrator": {"status_coefficients": [0, 0, 0, 0, 0], "stop_margin_seconds": 0}},
    {"orchestrator": {"status_coefficients": [1, 1, 1, 1, 1]}},
    {"retention": {"completed_days": None, "dead_days": 0.5}},
    {"dynamodb": {"endpoint_url": "https://dynamodb.local:8000", "region": "local"}, "alerts_topic_arn": None},
    {"scheduler": {"max_payload_bytes": 1}}, {"scheduler": {"max_payload_bytes": MAX_PAYLOAD_BYTES}},
], ids=str)
def test_values_on_the_edge_of_each_rule_are_accepted(document):
    assert isinstance(config_from_dict(document), SoswConfig)


def test_the_payload_limit_can_be_lowered_but_never_raised_above_what_a_task_holds():
    """One source for the limit: ``MAX_PAYLOAD_BYTES``, which NewTask enforces; the setting
    defaults to it and is refused above it, also when the config is built in Python."""
    assert SchedulerConfig().max_payload_bytes == MAX_PAYLOAD_BYTES
    with pytest.raises(ConfigError) as caught:
        SchedulerConfig(max_payload_bytes=MAX_PAYLOAD_BYTES + 1)
    assert caught.value.key == "scheduler.max_payload_bytes" and str(MAX_PAYLOAD_BYTES) in caught.value.rule
    assert SchedulerConfig(max_payload_bytes=1_000).max_payload_bytes == 1_000


# --- feelings order -----------------------------------------------------------------------------

@pytest.mark.parametrize(("comparison", "feelings"), [
    ("le", {"3": 50, "4": 25}), ("lt", {"2": 100, "3": 50, "4": 25}), ("le", {"0": 1000, "4": 1}),
    ("ge", {"2": 50, "4": 90}), ("gt", {"1": 0, "3": 10, "4": 20}), ("ge", {"4": 5}),
])
def test_feelings_in_the_right_order_load(comparison, feelings):
    config_from_dict(met(comparison=comparison, feelings=feelings))


@pytest.mark.parametrize(("comparison", "feelings"), [
    ("le", {"3": 25, "4": 50}), ("lt", {"3": 50, "4": 50}), ("le", {"2": 100, "3": 50, "4": 75}),
    ("ge", {"2": 90, "4": 50}), ("gt", {"3": 10, "4": 10}), ("ge", {"1": 0, "2": 30, "4": 20}),
])
def test_feelings_in_the_wrong_order_name_the_feelings(comparison, feelings):
    with pytest.raises(ConfigError) as caught:
        config_from_dict(met(comparison=comparison, feelings=feelings), layer="overrides")
    assert caught.value.key == "labourers[0].health_metrics[0].feelings"
    assert "strictly" in caught.value.rule


def test_feelings_order_is_checked_in_files_with_the_file_named(tmp_path):
    write(tmp_path, "orchestrator.json", met(feelings={"3": 25, "4": 50}))
    e = error(tmp_path)
    assert (e.key, e.layer) == ("labourers[0].health_metrics[0].feelings", str(tmp_path / "orchestrator.json"))


# --- broken documents ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "key"), [
    ('{"tables": {"tasks": "a",}}', "document"), ("[]", "document"), ('"x"', "document"),
    ('{"tables": {"tasks": "abc", "tasks": "def"}}', "tasks"),
])
def test_broken_json_names_the_file(tmp_path, text, key):
    (tmp_path / "sosw.json").write_text(text)
    e = error(tmp_path)
    assert (e.key, e.layer) == (key, str(tmp_path / "sosw.json"))


def test_broken_json_in_the_environment_names_the_variable(tmp_path):
    e = error(tmp_path, environ={"SOSW_CONFIG_JSON": "{nope"})
    assert (e.key, e.layer) == ("document", "env SOSW_CONFIG_JSON")


def test_a_bad_single_variable_names_the_variable(tmp_path):
    e = error(tmp_path, environ={"SOSW_TASKS_TABLE": "no"})
    assert (e.key, e.layer) == ("tables.tasks", "env SOSW_TASKS_TABLE")


def test_overrides_must_be_an_object(tmp_path):
    e = error(tmp_path, overrides=["labourers"])
    assert (e.key, e.layer) == ("document", "overrides")


def test_a_merged_object_names_every_layer_inside_it():
    document, provenance = merge([Layer("a", {"tables": {"tasks": "t1"}}), Layer("b", {"tables": {"jobs": "j"}}),
                                  Layer("c", {"labourers": [labourer_doc()]})])
    assert document["tables"] == {"tasks": "t1", "jobs": "j"}
    assert provenance.origin(("tables",)) == "a, b"
    assert provenance.origin(("tables", "jobs")) == "b"
    assert provenance.origin(("labourers", 0, "backoff", "factor")) == "c"
    assert provenance.origin(("scavenger",)) is None


def test_an_empty_object_merges_nothing_and_layers_are_never_mutated(tmp_path):
    shared = {"tables": {"tasks": "shared_tasks"}, "labourers": [labourer_doc("a")]}
    write(tmp_path, "sosw.json", shared)
    overrides = {"tables": {}, "labourers": [labourer_doc("b")]}
    config = load(tmp_path, overrides=overrides)
    assert (config.tables.tasks, [lab.id for lab in config.labourers]) == ("shared_tasks", ["b"])
    assert overrides == {"tables": {}, "labourers": [labourer_doc("b")]}


def test_an_empty_object_belongs_to_the_last_layer_that_touched_it():
    _, provenance = merge([Layer("a", {"dynamodb": {}}), Layer("b", {"dynamodb": {"region": "x"}})])
    assert provenance.origin(("dynamodb",)) == "b"
    _, provenance = merge([Layer("a", {"dynamodb": {}}), Layer("b", {"dynamodb": {}})])
    assert provenance.origin(("dynamodb",)) == "b"
