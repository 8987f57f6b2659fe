"""The services: the Orchestrator, Scavenger, WorkerAssistant (with its completion hand-off),
the Scheduler's Ingestor and the Worker base class.

They take their dependencies as :mod:`sosw_core.domain.ports` (never an adapter class) and are
put together in one place, :mod:`sosw_core.wiring`. Each reads its one clock once per pass and
passes ``now`` down.
"""
