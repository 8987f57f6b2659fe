"""The core imports no AWS library: each module is imported in a fresh interpreter, which must
not have loaded botocore, boto3 or pynamodb afterwards.

Covered: every module of the domain, the services and the config (found with pkgutil, so a new
module is covered without editing this file), the errors, the clock and the wiring; the Invoker
and Notifier packages and their protocols; the memory store; and the public ``Worker``, which
loads botocore only when it sends its first report. When a module pulls one in, the failure
names the module and the chain of ``sosw_core`` imports that led there.

A static check adds what a fresh interpreter cannot see: the domain and the services import no
adapter at all (not even under ``TYPE_CHECKING``); they reach the store, the invokers and the
notifiers through :mod:`sosw_core.domain.ports`.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

AWS_LIBRARIES = ("botocore", "boto3", "pynamodb")
ROOT = Path(__file__).resolve().parents[2]

# Imports ``MODULES`` one by one; after each, checks ``sys.modules``. A finder placed first on
# ``sys.meta_path`` notes the sosw_core frames that asked for an AWS library the first time.
PROBE = """
import importlib, json, sys, traceback

AWS = {aws!r}
chains = {{}}


class Witness:
    @staticmethod
    def find_spec(name, path=None, target=None):
        top = name.split(".")[0]
        if top in AWS and top not in chains:
            chains[top] = [f"{{f.filename.split('sosw_core', 1)[-1]}}:{{f.lineno}}"
                           for f in traceback.extract_stack() if "sosw_core" in f.filename]
        return None  # only watches: the normal finders do the import


sys.meta_path.insert(0, Witness)
scope = {{}}  # shared: a statement may use what an earlier one imported
for statement in {statements!r}:
    exec(statement, scope)
    loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set(AWS))
    if loaded:
        print(json.dumps({{"statement": statement, "loaded": loaded, "chains": chains}}))
        break
else:
    print(json.dumps(None))
"""


def modules_of(package: str) -> list[str]:
    """``package`` and every module below it (subpackages are imported to be walked)."""
    found = [package]
    path = importlib.import_module(package).__path__
    found += sorted(info.name for info in pkgutil.walk_packages(path, package + "."))
    return found


def first_aws_import(statements: list[str]) -> dict | None:
    """Run the statements in order in a fresh interpreter; the first after which an AWS library
    is loaded (with what it loaded, and how), or None."""
    code = PROBE.format(aws=AWS_LIBRARIES, statements=statements)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def imports(modules: list[str]) -> list[str]:
    return [f"import {module}" for module in modules]


GROUPS = {
    "domain": lambda: modules_of("sosw_core.domain"),
    "services": lambda: modules_of("sosw_core.services"),
    "config": lambda: modules_of("sosw_core.config"),
    "core": lambda: ["sosw_core.errors", "sosw_core.clock", "sosw_core.wiring"],
    "ports' adapters": lambda: ["sosw_core.adapters.invokers", "sosw_core.adapters.invokers.base",
                                "sosw_core.adapters.invokers.local", "sosw_core.adapters.notifiers",
                                "sosw_core.adapters.notifiers.base", "sosw_core.adapters.notifiers.local"],
    "memory store": lambda: modules_of("sosw_core.adapters.memory"),
}


@pytest.mark.parametrize("group", GROUPS)
def test_core_modules_load_no_aws_library(group):
    modules = GROUPS[group]()
    assert len(modules) >= 3
    found = first_aws_import(imports(modules))
    assert found is None, (f"{found['statement']} loaded {found['loaded']}; "
                           f"by way of {json.dumps(found['chains'], indent=1)}")


def test_the_public_worker_loads_no_aws_library_until_it_reports():
    import sosw_core

    if "Worker" in getattr(sosw_core, "__all__", ()):
        statements = ["import sosw_core", "sosw_core.Worker", "from sosw_core import Worker"]
    else:  # before the public API exports it
        statements = ["from sosw_core.services.worker import Worker"]
    statements += ["from sosw_core.services.worker import LambdaReporter; LambdaReporter(client=object())"]
    assert first_aws_import(statements) is None
    # ... and a report through the Lambda reporter is what loads botocore (for its errors)
    sent = first_aws_import(statements + ["""
from sosw_core.domain.events import Action, Invocation, Report
from sosw_core.services.worker import LambdaReporter

class Answer:
    def read(self):
        return b'{"outcome": "applied"}'

class Client:
    def invoke(self, **kwargs):
        return {"StatusCode": 200, "Payload": Answer()}

LambdaReporter(Client()).report(Report(Action.HEARTBEAT, Invocation("t", "w", 1, "token")))
"""])
    assert sent is not None and sent["loaded"] == ["botocore"]


def test_the_probe_sees_a_module_that_loads_botocore():
    found = first_aws_import(imports(["sosw_core.errors", "sosw_core.adapters.invokers.lambda_"]))
    assert found is not None
    assert found["statement"] == "import sosw_core.adapters.invokers.lambda_"
    assert "botocore" in found["loaded"]
    assert any("invokers/lambda_.py" in frame for frame in found["chains"]["botocore"])


# -- the layers: the domain and the services reach adapters only through the ports ------------
# The EMF module only formats JSON lines for stdout (no AWS library); the metered essentials
# write their metrics with it.
SERVICES_MAY_IMPORT = {"sosw_core.adapters.metrics"}


def imported_modules(path: Path) -> set[str]:
    """Every module a source file imports (``from a import b`` counts as ``a`` and ``a.b``),
    including imports inside functions and under ``TYPE_CHECKING``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("package, allowed", [("domain", set()), ("services", SERVICES_MAY_IMPORT)])
def test_the_domain_and_the_services_import_no_adapter(package, allowed):
    sources = sorted((ROOT / "sosw_core" / package).glob("*.py"))
    assert sources
    offending = {}
    for source in sources:
        adapters = {m for m in imported_modules(source)
                    if m.startswith("sosw_core.adapters") and m not in allowed
                    and m != "sosw_core.adapters"}  # the package itself, for `from sosw_core.adapters import metrics`
        if adapters:
            offending[source.name] = sorted(adapters)
    assert offending == {}, "reach these through sosw_core.domain.ports instead"


def test_the_layer_check_sees_an_adapter_import(tmp_path):
    source = tmp_path / "x.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                      "    from sosw_core.adapters.dynamodb.task_store import TaskStore\n")
    assert "sosw_core.adapters.dynamodb.task_store" in imported_modules(source)
