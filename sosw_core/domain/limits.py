"""Hard size limits, each written once; configuration may lower a limit, never raise it.

They follow from DynamoDB's item limit (400 KB for one item, names and values together). This
module imports nothing, so the config schema can check a configured value against it.
"""

# A task's payload may use this much of its item; the rest is left for the event history,
# result and stats that the task gathers during its life.
MAX_PAYLOAD_BYTES = 256 * 1024
# A report's result and its stats, each.
MAX_REPORT_BYTES = 64 * 1024
