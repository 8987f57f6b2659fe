"""May the stack invoke its labourers? The config's labourers against ``LabourerFunctionArns``.

The Orchestrator and the WorkerAssistant may invoke only the ARNs of the stack parameter
``LabourerFunctionArns`` (their roles' ``lambda:InvokeFunction`` resources). A labourer whose
configured function is not covered is refused on every invoke (AccessDeniedException): its
tasks go back to the queue and wait there. The deploy and its dry run compare the two first.

How IAM matches (AWS Lambda Developer Guide, "Fine-tuning the Resources and Conditions sections
of policies", https://docs.aws.amazon.com/lambda/latest/dg/lambda-api-permissions-ref.html):
a resource is a function, version or alias ARN, compared as a string in which ``*`` and ``?``
are wildcards; an unqualified function ARN covers only unqualified invokes, so a labourer
configured as ``name:live`` needs ``...:function:name:live`` or ``...:function:name:*``.

A labourer's ``arn`` may be any name format Lambda's Invoke takes: ``name``, ``name:qualifier``,
``account:function:name[:qualifier]`` or a full ARN. Parts it leaves out (region, account,
partition) are the stack's own, which an offline check cannot know: they are taken to match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sosw_core.config.model import LabourerConfig

ARN = re.compile(r"^arn:(?P<partition>[^:]+):lambda:(?P<region>[^:]*):(?P<account>[^:]*):(?P<tail>function:.+)$")
PARTIAL = re.compile(r"^(?P<account>\d{12}):(?P<tail>function:.+)$")


@dataclass(frozen=True)
class FunctionRef:
    """A function reference split into the parts IAM compares; ``None``: the stack's own."""

    tail: str  # function:NAME or function:NAME:QUALIFIER
    partition: str | None = None
    region: str | None = None
    account: str | None = None


def parse_function(reference: str) -> FunctionRef:
    """A labourer's ``arn`` (any of Lambda's name formats) or an IAM resource ARN."""
    text = reference.strip()
    if match := ARN.match(text):
        return FunctionRef(match["tail"], match["partition"], match["region"], match["account"])
    if match := PARTIAL.match(text):
        return FunctionRef(match["tail"], account=match["account"])
    return FunctionRef(f"function:{text}")


def _pattern(text: str) -> re.Pattern[str]:
    """IAM's string match: ``*`` any run of characters (``:`` too), ``?`` one character."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text) + r"\Z")


def covers(resource: str, function: str) -> bool:
    """True when IAM resource ``resource`` allows invoking ``function`` (a labourer's ``arn``)."""
    allowed = parse_function(resource) if resource.strip() != "*" else None
    if allowed is None:
        return True
    wanted = parse_function(function)
    for given, pattern in ((wanted.partition, allowed.partition), (wanted.region, allowed.region),
                           (wanted.account, allowed.account), (wanted.tail, allowed.tail)):
        if given is not None and pattern is not None and not _pattern(pattern).match(given):
            return False
    return True


def labourers_outside(labourers: Iterable[LabourerConfig], resources: Iterable[str]) -> list[str]:
    """One line per labourer no resource covers, naming it, its function and the list."""
    allowed = [r.strip() for r in resources if r.strip()]
    shown = ", ".join(allowed) if allowed else "(empty)"
    problems = []
    for labourer in labourers:
        if not any(covers(resource, labourer.function_name) for resource in allowed):
            hint = (" (an unqualified ARN does not cover a version or alias: add ARN:* or the "
                    "qualified ARN)" if ":" in parse_function(labourer.function_name).tail[len("function:"):]
                    else "")
            problems.append(f"labourer {labourer.id!r}: its function {labourer.function_name!r} is not in "
                            f"LabourerFunctionArns [{shown}], so every invoke would be refused "
                            f"(AccessDeniedException){hint}")
    return problems
