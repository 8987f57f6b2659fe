"""The chaos run: sosw-core under crashes, hangs, duplicate and late reports, throttling and a
Scheduler killed mid-ingest, judged from the table rows and the workers' own ledger."""

from devtools.chaos.audit import FAILURE_COUNTERS, Verdict, audit
from devtools.chaos.behaviours import Behaviour, Mix, choose
from devtools.chaos.engine import ChaosOptions, ChaosRun
from devtools.chaos.ledger import Ledger, Run

__all__ = ["FAILURE_COUNTERS", "Behaviour", "ChaosOptions", "ChaosRun", "Ledger", "Mix", "Run", "Verdict",
           "audit", "choose"]
