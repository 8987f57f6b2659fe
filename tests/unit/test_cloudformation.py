"""The CloudFormation templates: lint-clean, the code's table schema, least privilege, deployable.

The moto deployment covers what moto's CloudFormation implements. Known gaps (moto 5.2):
``AWS::CloudWatch::Alarm`` and ``AWS::Lambda::EventInvokeConfig`` are skipped with a warning;
``AWS::DynamoDB::Table`` ignores ``TimeToLiveSpecification``; ``AWS::Lambda::Function`` ignores
``Layers`` and ``Architectures``. Those parts are checked on the template instead.
"""

from __future__ import annotations

import io
import json
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.api import lint_file
from cfnlint.decode.cfn_yaml import load as load_cfn_yaml
from moto import mock_aws

from sosw_core.adapters import metrics
from sosw_core.adapters.dynamodb import build_models, table_definitions
from sosw_core.adapters.dynamodb.dispatch_lease import KEY_PREFIX
from sosw_core.config.model import DynamoDBConfig, TablesConfig
from sosw_core.deploy.package import source_root

ROOT = source_root()
TEMPLATES = sorted((ROOT / "cloudformation").glob("*.yaml"))
MAIN = ROOT / "cloudformation" / "sosw-core.yaml"
STAGE = "dev"

# The only statements allowed a resource "*", as (role, actions): CloudWatch's
# GetMetricStatistics supports no resource-level permissions (documented in the template).
DOCUMENTED_UNSCOPED = {("OrchestratorRole", ("cloudwatch:GetMetricStatistics",)),
                       ("WorkerAssistantRole", ("cloudwatch:GetMetricStatistics",))}
MOTO_UNSUPPORTED = {"AWS::CloudWatch::Alarm", "AWS::Lambda::EventInvokeConfig", "AWS::SNS::Subscription"}
ESSENTIALS = {"SchedulerFunction": "scheduler", "OrchestratorFunction": "orchestrator",
              "ScavengerFunction": "scavenger", "WorkerAssistantFunction": "worker_assistant"}


def _template(path: Path = MAIN) -> dict[str, Any]:
    return load_cfn_yaml(str(path))


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def _sub(value: Any, stage: str = STAGE) -> str:
    """A ``!Sub`` of only ``${Stage}`` as deployed."""
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    assert isinstance(text, str), value
    return text.replace("${Stage}", stage)


# -- (1) cfn-lint ------------------------------------------------------------------------------
@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_cfn_lint_is_clean(template):
    findings = [str(m) for m in lint_file(template)]
    assert findings == []


def test_cfn_lint_check_would_fail_on_a_finding(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n      Nope: 1\n")
    assert [str(m) for m in lint_file(broken)]


def test_both_templates_are_checked():
    assert {p.name for p in TEMPLATES} >= {"sosw-core.yaml", "example-worker.yaml"}


# -- (2) tables = the code's schema --------------------------------------------------------------
def _normalise_keys(keys: list[dict[str, str]]) -> list[dict[str, str]]:
    """HASH first, as CreateTable requires (pynamodb sorts the same way before sending)."""
    return sorted(({"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in keys),
                  key=lambda k: k["KeyType"])


def _normalise_projection(projection: dict[str, Any]) -> dict[str, Any]:
    out = {"ProjectionType": projection["ProjectionType"]}
    if projection.get("NonKeyAttributes"):
        out["NonKeyAttributes"] = sorted(projection["NonKeyAttributes"])
    return out


def _normalise(definition: dict[str, Any]) -> dict[str, Any]:
    return {
        "KeySchema": _normalise_keys(definition["KeySchema"]),
        "AttributeDefinitions": sorted(
            ({"AttributeName": a["AttributeName"], "AttributeType": a["AttributeType"]}
             for a in definition["AttributeDefinitions"]), key=lambda a: a["AttributeName"]),
        "GlobalSecondaryIndexes": sorted(
            ({"IndexName": g["IndexName"], "KeySchema": _normalise_keys(g["KeySchema"]),
              "Projection": _normalise_projection(g["Projection"])}
             for g in definition.get("GlobalSecondaryIndexes", [])), key=lambda g: g["IndexName"]),
        "TimeToLiveAttribute": definition["TimeToLiveAttribute"],
    }


TABLES = {"TasksTable": "tasks", "JobsTable": "jobs"}  # logical id -> TablesConfig field


def _template_tables() -> dict[str, dict[str, Any]]:
    """The template's tables by logical id (they have no fixed names: see the re-create test)."""
    tables = {}
    for name, resource in _resources(_template(), "AWS::DynamoDB::Table").items():
        props = resource["Properties"]
        assert props["TimeToLiveSpecification"]["Enabled"] is True
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert "LocalSecondaryIndexes" not in props
        tables[name] = _normalise(
            {**props, "TimeToLiveAttribute": props["TimeToLiveSpecification"]["AttributeName"]})
    return tables


def _code_tables() -> dict[str, dict[str, Any]]:
    """The code's tables, keyed by the template's logical ids."""
    models = build_models(TablesConfig(**{field: logical for logical, field in TABLES.items()}),
                          DynamoDBConfig())
    assert {m.Meta.billing_mode for m in models.all} == {"PAY_PER_REQUEST"}
    return {name: _normalise(d) for name, d in table_definitions(models).items()}


def test_tables_match_the_models():
    assert set(_template_tables()) == set(TABLES)
    assert _template_tables() == _code_tables()


# -- finding 2: a stage can be deleted and re-created -------------------------------------------
def test_tables_can_be_recreated_after_a_failed_create_or_a_stack_delete():
    """No fixed name (a kept table cannot block the next stack), kept on delete, dropped on rollback."""
    for name, resource in _resources(_template(), "AWS::DynamoDB::Table").items():
        assert "TableName" not in resource["Properties"], name
        assert resource["DeletionPolicy"] == "RetainExceptOnCreate", name
        assert resource["UpdateReplacePolicy"] == "Retain", name
        assert {"Key": "sosw-core:stage", "Value": {"Ref": "Stage"}} in resource["Properties"]["Tags"]


# -- (3) IAM least privilege ---------------------------------------------------------------------
def _branches(value: Any) -> list[Any]:
    """Both sides of an ``Fn::If`` (without ``AWS::NoValue``); otherwise the value itself."""
    if isinstance(value, dict) and "Fn::If" in value:
        _, yes, no = value["Fn::If"]
        return [b for side in (yes, no) for b in _branches(side) if b != {"Ref": "AWS::NoValue"}]
    return [value]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every permission statement, as (owning resource, statement); trust policies excluded."""
    out = []
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents = [props["PolicyDocument"]]
        else:
            continue
        for document in documents:
            for raw in _as_list(document["Statement"]):
                out += [(name, statement) for statement in _branches(raw)]
    return out


def violations(template: dict[str, Any]) -> tuple[list[str], set[tuple[str, tuple[str, ...]]]]:
    """Broken rules, and the (owner, actions) pairs that use resource "*"."""
    resources = set(template["Resources"])
    parameters = set(template.get("Parameters", {}))
    tables = set(_resources(template, "AWS::DynamoDB::Table"))
    problems: list[str] = []
    unscoped: set[tuple[str, tuple[str, ...]]] = set()
    for owner, st in statements(template):
        actions = tuple(sorted(_as_list(st["Action"])))
        where = f"{owner} {st.get('Sid', '?')}"
        if "NotAction" in st or "NotResource" in st or st.get("Effect") != "Allow":
            problems.append(f"{where}: only plain Allow statements are expected")
        problems += [f"{where}: wildcard action {a}" for a in actions if "*" in a]
        for res in _as_list(st.get("Resource")):
            if res == "*":
                unscoped.add((owner, actions))
            else:
                problems += [f"{where}: {p}" for p in _resource_problems(res, resources, parameters, tables)]
    return problems, unscoped


def _resource_problems(res: Any, resources: set[str], parameters: set[str], tables: set[str]) -> list[str]:
    """What is wrong with one scoped ``Resource`` entry of a statement."""
    if isinstance(res, str):
        return [f"literal resource {res}"]
    if "Ref" in res:
        return [] if res["Ref"] in resources | parameters else [f"Ref to unknown {res['Ref']}"]
    if "Fn::GetAtt" in res:
        return [] if res["Fn::GetAtt"][0] in resources else [f"GetAtt of unknown {res['Fn::GetAtt']}"]
    if "Fn::ImportValue" in res:
        return []  # another stack's export (the worker template)
    if "Fn::Sub" not in res:
        return [f"unexpected resource form {res}"]
    text = res["Fn::Sub"]
    problems = []
    names = set(re.findall(r"\$\{([A-Za-z0-9]+)(?:\.Arn)?\}", text))
    if not names & (resources | {"Stage"}):
        problems.append(f"{text} names no resource of this stack")
    if "*" in text and not (re.fullmatch(r"\$\{(\w+)\.Arn\}/index/\*", text)
                            and text[2:].split(".")[0] in tables):
        problems.append(f"wildcard in {text}")
    return problems


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_iam_is_scoped_except_the_documented_exceptions(template):
    parsed = _template(template)
    problems, unscoped = violations(parsed)
    assert problems == []
    expected = DOCUMENTED_UNSCOPED if template == MAIN else set()
    assert unscoped == expected


def test_the_checker_catches_wildcards():
    template = {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{
        "PolicyDocument": {"Statement": [
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": {"Fn::GetAtt": ["R", "Arn"]}},
            {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::any/*"},
            {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": {"Fn::Sub": "arn:aws:dynamodb:*"}},
        ]}}]}}}}
    problems, unscoped = violations(template)
    assert problems == ["R ?: wildcard action dynamodb:*", "R ?: literal resource arn:aws:s3:::any/*",
                        "R ?: arn:aws:dynamodb:* names no resource of this stack",
                        "R ?: wildcard in arn:aws:dynamodb:*"]
    assert unscoped == {("R", ("sns:Publish",))}


def test_exception_is_documented_in_the_template():
    text = MAIN.read_text()
    assert "GetMetricStatistics supports no resource-level" in text
    unscoped = [st for _, st in statements(_template()) if st.get("Resource") == "*"]
    assert len(unscoped) == len(DOCUMENTED_UNSCOPED)
    assert {st["Sid"] for st in unscoped} == {"HealthMetricsUnscopable"}


def _grants(template: dict[str, Any], role: str, action: str) -> list[Any]:
    return [res for owner, st in statements(template) if owner == role and action in _as_list(st["Action"])
            for res in _as_list(st["Resource"])]


def test_labourers_are_the_only_functions_orchestrator_and_assistant_invoke():
    template = _template()
    for role in ("OrchestratorRole", "WorkerAssistantRole"):
        assert _grants(template, role, "lambda:InvokeFunction") == [{"Ref": "LabourerFunctionArns"}]
    assert template["Parameters"]["LabourerFunctionArns"]["Type"] == "CommaDelimitedList"
    assert _grants(template, "ScavengerRole", "lambda:InvokeFunction") == []


def test_scheduler_invokes_only_itself():
    template = _template()
    [own] = _grants(template, "SchedulerRole", "lambda:InvokeFunction")
    name = _sub(template["Resources"]["SchedulerFunction"]["Properties"]["FunctionName"])
    assert _sub(own).endswith(f":function:{name}")


def test_index_grants_name_existing_indexes_of_this_table():
    template = _template()
    indexes = {g["IndexName"] for g in template["Resources"]["TasksTable"]["Properties"]["GlobalSecondaryIndexes"]}
    granted = {}
    for role in ("OrchestratorRole", "ScavengerRole", "WorkerAssistantRole"):
        subs = [r["Fn::Sub"] for r in _grants(template, role, "dynamodb:Query")]
        assert all(s.startswith("${TasksTable.Arn}/index/") for s in subs)
        granted[role] = {s.rsplit("/", 1)[1] for s in subs}
        assert granted[role] <= indexes
    assert granted["WorkerAssistantRole"] == {"queue"}  # the hand-off reads the next queued task


def test_orchestrator_may_touch_only_the_dispatch_lease_rows_of_the_jobs_table():
    template = _template()
    grants = [(st, res) for owner, st in statements(template) if owner == "OrchestratorRole"
              for res in _as_list(st["Resource"]) if res == {"Fn::GetAtt": ["JobsTable", "Arn"]}]
    [(lease, _)] = grants
    assert _as_list(lease["Action"]) == ["dynamodb:UpdateItem"]
    assert lease["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{KEY_PREFIX}*"]}}


# -- functions, schedules, alarms, dashboard (template level) -------------------------------------
def test_functions_run_the_essentials_with_their_environment():
    template = _template()
    functions = _resources(template, "AWS::Lambda::Function")
    assert set(functions) == set(ESSENTIALS)
    for name, module in ESSENTIALS.items():
        props = functions[name]["Properties"]
        assert props["Runtime"] == "python3.12"
        assert props["Handler"] == f"essentials/{module}.lambda_handler"
        assert "lambda_handler" in (ROOT / "essentials" / f"{module}.py").read_text()
        assert props["Layers"] == [{"Ref": "CoreLayer"}]
        assert props["Environment"]["Variables"] == {
            "SOSW_TASKS_TABLE": {"Ref": "TasksTable"}, "SOSW_JOBS_TABLE": {"Ref": "JobsTable"},
            "SOSW_ALERTS_TOPIC_ARN": {"Ref": "AlertsTopic"},
            "SOSW_SCHEDULER_FUNCTION": {"Fn::Sub": "sosw-core-${Stage}-scheduler"},
            "SOSW_CONFIG_JSON": {"Ref": "ConfigDocument"}}  # finding 12: no SSM read at cold start
        for setting in ("Timeout", "MemorySize"):
            assert props[setting]["Ref"] in template["Parameters"]
        assert len(_sub(props["FunctionName"], "s" * 20)) <= 64


def test_every_essential_has_an_errors_alarm_and_dead_tasks_is_alarmed():
    template = _template()
    alarms = _resources(template, "AWS::CloudWatch::Alarm").values()
    watched = {a["Properties"]["Dimensions"][0]["Value"]["Ref"] for a in alarms
               if a["Properties"]["MetricName"] == "Errors"}
    assert watched == set(ESSENTIALS)
    [dead] = [a["Properties"] for a in alarms if a["Properties"]["MetricName"] == metrics.DEAD]
    assert dead["Namespace"] == metrics.NAMESPACE
    assert "Dimensions" not in dead  # the roll-up metrics_map.labourer_records writes without dimensions
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlertsTopic"}] for a in alarms)


def test_dashboard_reads_the_metrics_the_emitter_writes():
    template = _template()
    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    parsed = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))
    assert len(parsed["widgets"]) >= 6
    for name in (metrics.QUEUED, metrics.RUNNING, metrics.COMPLETED, metrics.FAILED, metrics.DEAD,
                 metrics.INVOKED, metrics.DISPATCH_LATENCY, metrics.TICK_DURATION):
        assert f'MetricName=\\"{name}\\"' in body
    assert f"{{{metrics.NAMESPACE},{metrics.LABOURER_DIMENSION}}}" in body


# -- (4) deploy into moto ------------------------------------------------------------------------
def _dummy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("essentials/__init__.py", "")
    return buffer.getvalue()


LABOURERS = "arn:aws:lambda:us-east-1:123456789012:function:w1,arn:aws:lambda:us-east-1:123456789012:function:w2"


@pytest.fixture
def deployed():
    with mock_aws(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="sosw-code")
        for key in ("layer.zip", "functions.zip"):
            s3.put_object(Bucket="sosw-code", Key=key, Body=_dummy_zip())
        cfn = boto3.client("cloudformation")
        params = {"Stage": STAGE, "CodeBucket": "sosw-code", "LayerKey": "layer.zip",
                  "FunctionKey": "functions.zip", "LabourerFunctionArns": LABOURERS}
        cfn.create_stack(StackName="sosw-core-dev", TemplateBody=MAIN.read_text(), Capabilities=["CAPABILITY_IAM"],
                         Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()])
        yield cfn, caught


def _physical(cfn, logical: str, stack: str = "sosw-core-dev") -> str:
    return cfn.describe_stack_resource(StackName=stack, LogicalResourceId=logical)[
        "StackResourceDetail"]["PhysicalResourceId"]


def test_stack_creates_tables_with_indexes(deployed):
    cfn, _ = deployed
    assert cfn.describe_stacks(StackName="sosw-core-dev")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    ddb = boto3.client("dynamodb")
    expected = _code_tables()
    for logical, definition in expected.items():
        table = ddb.describe_table(TableName=_physical(cfn, logical))["Table"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert _normalise_keys(table["KeySchema"]) == definition["KeySchema"]
        got = sorted(({"IndexName": g["IndexName"], "KeySchema": _normalise_keys(g["KeySchema"]),
                       "Projection": _normalise_projection(g["Projection"])}
                      for g in table.get("GlobalSecondaryIndexes", [])), key=lambda g: g["IndexName"])
        assert got == definition["GlobalSecondaryIndexes"]


def test_stack_creates_functions_rules_topic_and_config(deployed):
    cfn, _ = deployed
    lam = boto3.client("lambda")
    arns = {}
    for module in ESSENTIALS.values():
        fn = lam.get_function(FunctionName=f"sosw-core-dev-{module.replace('_', '-')}")["Configuration"]
        assert fn["Handler"] == f"essentials/{module}.lambda_handler"
        assert fn["Runtime"] == "python3.12"
        assert fn["Environment"]["Variables"]["SOSW_TASKS_TABLE"] == _physical(cfn, "TasksTable")
        assert fn["Environment"]["Variables"]["SOSW_CONFIG_JSON"] == "{}"
        arns[module] = fn["FunctionArn"]
    events = boto3.client("events")
    for module in ("orchestrator", "scavenger"):
        rule = events.describe_rule(Name=f"sosw-core-dev-{module}")
        assert rule["ScheduleExpression"] == "rate(1 minute)"
        [target] = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        assert target["Arn"] == arns[module]
        policy = json.loads(lam.get_policy(FunctionName=arns[module])["Policy"])
        assert [s["Principal"] for s in policy["Statement"]] == [{"Service": "events.amazonaws.com"}]
    topics = [t["TopicArn"] for t in boto3.client("sns").list_topics()["Topics"]]
    assert [t for t in topics if t.endswith(":sosw-core-dev-alerts")]
    assert boto3.client("ssm").get_parameter(Name="/sosw-core/dev/config")["Parameter"]["Value"] == "{}"
    dashboards = boto3.client("cloudwatch").list_dashboards()["DashboardEntries"]
    assert [d["DashboardName"] for d in dashboards] == ["sosw-core-dev"]


def test_stack_exports_what_workers_import(deployed):
    cfn, _ = deployed
    exports = {e["Name"]: e["Value"] for e in cfn.list_exports()["Exports"]}
    for key in ("TasksTableName", "TasksTableArn", "JobsTableName", "JobsTableArn", "AlertsTopicArn",
                "WorkerAssistantFunctionName", "WorkerAssistantFunctionArn", "SchedulerFunctionArn"):
        assert exports[f"sosw-core-dev-{key}"], key
    assert exports["sosw-core-dev-TasksTableName"] == _physical(cfn, "TasksTable")
    assert exports["sosw-core-dev-CoreLayerArnParameterName"] == "/sosw-core/dev/layer-arn"
    assert "sosw-core-dev-CoreLayerArn" not in exports  # changes with every upgrade: never exported


def test_example_worker_stack_imports_the_exports(deployed):
    cfn, _ = deployed
    cfn.create_stack(StackName="example-worker", TemplateBody=(ROOT / "cloudformation" / "example-worker.yaml").read_text(),
                     Capabilities=["CAPABILITY_IAM"],
                     Parameters=[{"ParameterKey": "CodeBucket", "ParameterValue": "sosw-code"},
                                 {"ParameterKey": "FunctionKey", "ParameterValue": "functions.zip"}])
    fn = boto3.client("lambda").get_function(FunctionName="sosw-core-dev-example-worker")["Configuration"]
    assert fn["Environment"]["Variables"]["SOSW_WORKER_ASSISTANT_FUNCTION"] == "sosw-core-dev-worker-assistant"


def test_only_known_moto_gaps_are_skipped(deployed):
    _, caught = deployed
    skipped = {m.group(1) for w in caught if (m := re.search(r"parse (\S+) but it's not supported", str(w.message)))}
    assert skipped <= MOTO_UNSUPPORTED


def test_scheduler_is_invokable_by_this_stages_job_rules_only(deployed):
    lam = boto3.client("lambda")
    policy = json.loads(lam.get_policy(FunctionName="sosw-core-dev-scheduler")["Policy"])
    [statement] = policy["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "lambda:InvokeFunction"
    conditions = json.dumps(statement["Condition"])
    assert ":rule/sosw-core-dev-job-*" in conditions and "123456789012" in conditions


def test_alarms_watch_dead_tasks_and_caught_essential_errors_without_dimensions():
    alarms = {a["Properties"]["MetricName"]: a["Properties"]
              for a in _resources(_template(), "AWS::CloudWatch::Alarm").values()
              if a["Properties"]["Namespace"] == metrics.NAMESPACE}
    assert set(alarms) == {metrics.DEAD, metrics.ERRORS, metrics.REFUSED}
    for props in alarms.values():
        assert "Dimensions" not in props  # the roll-ups sosw_core.adapters.metrics writes
        assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)
        assert props["AlarmActions"] == [{"Ref": "AlertsTopic"}]


# -- issue 14: what a first real AWS deploy meets (AWS behaviour moto does not model) -------------
WORKER = ROOT / "cloudformation" / "example-worker.yaml"
NEW_ACCOUNT_QUOTA = 10  # concurrent executions of a new account ("Lambda quotas")
MIN_UNRESERVED = 100  # "You can reserve up to the Unreserved account concurrency ... minus 100"


def _default_reservations(template: dict[str, Any]) -> dict[str, int]:
    """Each function's reserved concurrency when every parameter keeps its default (-1: none)."""
    out = {}
    for name, fn in _resources(template, "AWS::Lambda::Function").items():
        value = fn["Properties"].get("ReservedConcurrentExecutions")
        if value is None:
            continue
        condition, yes, no = value["Fn::If"]
        assert no == {"Ref": "AWS::NoValue"}
        parameter = yes["Ref"]
        assert template["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, "-1"]}]}
        default = int(template["Parameters"][parameter]["Default"])
        if default != -1:
            out[name] = default
    return out


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_defaults_deploy_in_an_account_with_a_concurrency_quota_of_10(template):
    """Finding 1: any reservation in such an account leaves under 100 unreserved and fails the stack."""
    reserved = _default_reservations(_template(template))
    assert sum(reserved.values()) <= max(0, NEW_ACCOUNT_QUOTA - MIN_UNRESERVED)
    assert reserved == {}


def test_the_reservation_check_sees_a_default_reservation():
    template = _template()
    template["Parameters"]["OrchestratorReservedConcurrency"]["Default"] = 1
    assert _default_reservations(template) == {"OrchestratorFunction": 1}


def _refs(value: Any) -> set[str]:
    """Names a value refers to through Ref, GetAtt and ${...} in Sub."""
    if isinstance(value, dict):
        found = set()
        for key, inner in value.items():
            if key == "Ref":
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else inner.split(".")[0])
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                found |= {n.split(".")[0] for n in re.findall(r"\$\{([^}!]+)\}", text)}
                found |= _refs(inner[1]) if isinstance(inner, list) else set()
            else:
                found |= _refs(inner)
        return found
    if isinstance(value, list):
        return set().union(*(_refs(v) for v in value)) if value else set()
    return set()


def test_no_export_changes_on_an_upgrade():
    """Finding 3: an imported export can never change, so none may name a layer version
    (replaced by every upgrade); the layer ARN goes to SSM instead."""
    template = _template()
    replaced = set(_resources(template, "AWS::Lambda::LayerVersion"))
    assert replaced == {"CoreLayer"}
    exported = {name: out for name, out in template["Outputs"].items() if "Export" in out}
    for name, output in exported.items():
        assert not _refs(output["Value"]) & replaced, name
    parameter = template["Resources"]["CoreLayerArnParameter"]["Properties"]
    assert parameter["Value"] == {"Ref": "CoreLayer"}
    assert exported["CoreLayerArnParameterName"]["Value"] == {"Ref": "CoreLayerArnParameter"}
    assert template["Resources"]["CoreLayer"]["UpdateReplacePolicy"] == "Retain"  # old workers keep theirs


def test_worker_reads_the_layer_from_ssm_and_imports_only_fixed_exports():
    core, worker = _template(), _template(WORKER)
    imports = re.findall(r"\$\{CoreStackName\}-(\w+)", json.dumps(worker))
    fixed = {name for name, out in core["Outputs"].items() if "Export" in out}
    assert imports and set(imports) <= fixed
    assert "CoreLayerArn" not in imports
    props = worker["Resources"]["WorkerFunction"]["Properties"]
    [layer] = props["Layers"]
    spec = worker["Parameters"][layer["Ref"]]
    assert spec["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert spec["Default"] == _sub(core["Resources"]["CoreLayerArnParameter"]["Properties"]["Name"])


CHAIN = {"SchedulerFunction", "WorkerAssistantFunction"}  # invoked again within one chain


def test_functions_of_a_chain_allow_recursive_loops():
    """Finding 4: Lambda stops a chain of Lambda-only invocations after about 16 (docs cited in
    the templates); hand-offs and Scheduler continuations are such chains by design."""
    core, worker = _template(), _template(WORKER)
    loops = {name: fn["Properties"].get("RecursiveLoop", "Terminate")
             for name, fn in _resources(core, "AWS::Lambda::Function").items()}
    assert {name for name, value in loops.items() if value == "Allow"} == CHAIN
    assert worker["Resources"]["WorkerFunction"]["Properties"]["RecursiveLoop"] == "Allow"
    for path in (MAIN, WORKER):
        assert "https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html" in path.read_text()
    assert "invocation-recursion" in (ROOT / "docs" / "deploying.md").read_text()


def _invoke_configs(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["Properties"]["FunctionName"]["Ref"]: c["Properties"]
            for c in _resources(template, "AWS::Lambda::EventInvokeConfig").values()}


def test_events_that_fail_go_to_a_queue_that_alarms():
    """Finding 8: every asynchronously invoked function keeps what it gives up, and it alarms."""
    core = _template()
    configs = _invoke_configs(core)
    assert set(configs) == set(ESSENTIALS)
    queue = {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}
    for name in ("SchedulerFunction", "WorkerAssistantFunction"):
        assert configs[name]["DestinationConfig"]["OnFailure"]["Destination"] == queue, name
        role = core["Resources"][name]["Properties"]["Role"]["Fn::GetAtt"][0]
        assert _grants(core, role, "sqs:SendMessage") == [queue], name  # destinations use the role
    for name in ("OrchestratorFunction", "ScavengerFunction"):  # the next minute's run replaces it
        assert (configs[name]["MaximumRetryAttempts"], configs[name]["MaximumEventAgeInSeconds"]) == (0, 60)
    assert "QueueName" not in core["Resources"]["FailedEventsQueue"]["Properties"]  # re-create: no 60 s wait
    alarms = [a["Properties"] for a in _resources(core, "AWS::CloudWatch::Alarm").values()]
    [watch] = [a for a in alarms if a["Namespace"] == "AWS/SQS"]
    assert watch["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailedEventsQueue", "QueueName"]}}]
    assert (watch["MetricName"], watch["ComparisonOperator"], watch["Threshold"]) == (
        "ApproximateNumberOfMessagesVisible", "GreaterThanThreshold", 0)
    delivery = {a["Dimensions"][0]["Value"]["Ref"] for a in alarms if a["MetricName"] == "DestinationDeliveryFailures"}
    assert delivery == {"SchedulerFunction", "WorkerAssistantFunction"}


def test_the_worker_leaves_retries_to_sosw_core_and_waits_no_longer_than_its_lease():
    """Finding 8: no Lambda retry (it would run a task outside its attempt and lease), and an
    event older than MaxEventAgeSeconds is given up to the queue instead of starting late."""
    worker = _template(WORKER)
    config = _invoke_configs(worker)["WorkerFunction"]
    assert config["MaximumRetryAttempts"] == 0
    assert config["MaximumEventAgeInSeconds"] == {"Ref": "MaxEventAgeSeconds"}
    age = worker["Parameters"]["MaxEventAgeSeconds"]
    assert (age["Default"], age["MinValue"]) == (60, 60)  # Lambda's minimum
    destination = config["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination == {"Fn::ImportValue": {"Fn::Sub": "${CoreStackName}-FailedEventsQueueArn"}}
    assert _grants(worker, "WorkerRole", "sqs:SendMessage") == [destination]


def test_tables_have_point_in_time_recovery_and_deletion_protection_by_parameter():
    """Finding 9."""
    core = _template()
    assert core["Parameters"]["PointInTimeRecovery"]["Default"] == "true"
    assert core["Parameters"]["DeletionProtection"]["AllowedValues"] == ["true", "false"]
    assert core["Conditions"]["DeletionProtectionOn"] == {"Fn::Equals": [{"Ref": "DeletionProtection"}, "true"]}
    for name, table in _resources(core, "AWS::DynamoDB::Table").items():
        props = table["Properties"]
        assert props["DeletionProtectionEnabled"] == {"Fn::If": ["DeletionProtectionOn", True, False]}, name
        assert props["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": {"Fn::If": ["PointInTimeRecoveryOn", True, False]}}, name


def test_documented_limits_are_the_ones_aws_and_the_code_use():
    """Finding 10: the 1 MB async payload (checked by the invoker) and EventBridge's 8,192-character
    target input (from the AWS::Events::Rule schema cfn-lint ships) are in the docs."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    from sosw_core.adapters.invokers.base import ASYNC_PAYLOAD_LIMIT

    rule = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", "AWS::Events::Rule").schema
    assert rule["definitions"]["Target"]["properties"]["Input"]["maxLength"] == 8192
    assert ASYNC_PAYLOAD_LIMIT == 1024 * 1024
    docs = (ROOT / "docs" / "deploying.md").read_text()
    assert "8,192 characters" in docs and "1 MB" in docs


def test_config_comes_by_environment_within_its_size_limit():
    """Finding 12: no essential reads Parameter Store; the document fits Lambda's 4 KB of variables."""
    from sosw_core.deploy.plan import CONFIG_DOCUMENT_LIMIT, check_config_document

    core = _template()
    assert [st for _, st in statements(core) if any(a.startswith("ssm:") for a in _as_list(st["Action"]))] == []
    assert core["Parameters"]["ConfigDocument"]["MaxLength"] == CONFIG_DOCUMENT_LIMIT
    fits = json.dumps({"retention": {"completed_days": 7}, "labourers": []})
    assert check_config_document(fits) == []
    too_big = json.dumps({"labourers": []}) + " " * CONFIG_DOCUMENT_LIMIT
    [problem] = check_config_document(too_big)
    assert "4 KB of Lambda environment variables" in problem


def test_a_worker_stack_survives_a_core_upgrade(deployed):
    """Finding 3 on moto: the worker's layer parameter is resolved from SSM, and a new layer
    updates the core stack with the worker in place (moto neither writes a real layer ARN nor
    refuses changing an imported export: the template tests above cover those)."""
    cfn, _ = deployed
    cfn.create_stack(StackName="example-worker", TemplateBody=WORKER.read_text(), Capabilities=["CAPABILITY_IAM"],
                     Parameters=[{"ParameterKey": "CodeBucket", "ParameterValue": "sosw-code"},
                                 {"ParameterKey": "FunctionKey", "ParameterValue": "functions.zip"}])
    stored = boto3.client("ssm").get_parameter(Name="/sosw-core/dev/layer-arn")["Parameter"]["Value"]
    params = {p["ParameterKey"]: p for p in cfn.describe_stacks(StackName="example-worker")["Stacks"][0]["Parameters"]}
    assert params["CoreLayerArn"].get("ResolvedValue", params["CoreLayerArn"]["ParameterValue"]) in (
        stored, "/sosw-core/dev/layer-arn")
    boto3.client("s3").put_object(Bucket="sosw-code", Key="layer-2.zip", Body=_dummy_zip() + b"\n")
    cfn.update_stack(StackName="sosw-core-dev", UsePreviousTemplate=True, Capabilities=["CAPABILITY_IAM"],
                     Parameters=[{"ParameterKey": "LayerKey", "ParameterValue": "layer-2.zip"}]
                     + [{"ParameterKey": k, "UsePreviousValue": True}
                        for k in ("Stage", "CodeBucket", "FunctionKey", "LabourerFunctionArns")])
    assert cfn.describe_stacks(StackName="sosw-core-dev")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
