"""The four thin Lambda entry points: scheduler, orchestrator, scavenger, worker_assistant."""
