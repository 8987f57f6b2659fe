"""The demo's three workers (run by ``sosw-core demo`` in the local invoker).

- ``thumbnails``: quick, always works.
- ``invoices``: calls a "downstream" whose latency metric degrades mid-run, so the
  orchestrator throttles this labourer (health status drops, fewer invocations).
- ``emails``: some recipients fail once (a transient error, retried), a few always fail
  (bounced addresses): those tasks end dead and raise an alert.
"""

from __future__ import annotations

import random
import time
import zlib

from sosw_core.services.worker import Worker


def _bucket(value: str, modulo: int) -> int:
    return zlib.crc32(value.encode()) % modulo


def email_outcome(recipient: str) -> str:
    """``bounce`` (always fails), ``transient`` (fails on the first attempt) or ``ok``; stable."""
    if _bucket(recipient, 97) == 0:
        return "bounce"
    return "transient" if _bucket(recipient, 5) == 0 else "ok"


class Thumbnails(Worker):
    def process(self, payload):
        time.sleep(random.uniform(0.01, 0.04))
        return {"thumbnails": len(payload.get("photos", []))}


class Invoices(Worker):
    def process(self, payload):
        time.sleep(random.uniform(0.05, 0.12))
        self.stats["invoice-lines"] = random.randint(1, 40)
        return {"customers": payload.get("customers"), "dates": payload.get("date_list")}


class TransientError(RuntimeError):
    """The mail server said "try again later"."""


class Bounced(RuntimeError):
    """The mail server rejected the address."""


class Emails(Worker):
    def process(self, payload):
        time.sleep(random.uniform(0.02, 0.06))
        (recipient,) = payload["recipients"]
        outcome = email_outcome(recipient)
        if outcome == "bounce":
            raise Bounced(f"550 mailbox unavailable: {recipient}")
        if outcome == "transient" and self.invocation and self.invocation.attempt == 1:
            raise TransientError("421 try again later")
        return {"sent": recipient}
