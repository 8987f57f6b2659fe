"""The domain: what sosw-core's words mean, with no I/O and no AWS library (a test proves it).

* :mod:`.task` — task states, the rules of their transitions, new tasks and payloads;
* :mod:`.outcomes` — what a store call tells its caller (:class:`~.outcomes.Outcome`, the
  queue and deadline refs, hand-off results, reject reasons);
* :mod:`.ports` — the protocols the services take: the store's roles, invoker, notifier,
  health metrics, Lambda context;
* :mod:`.dispatch` — why a dispatch stopped (:class:`~.dispatch.StopReason`);
* :mod:`.health` — labourer status and how many invocations it allows;
* :mod:`.events` — worker events and reports (their envelope and parser);
* :mod:`.job`, :mod:`.chunking`, :mod:`.task_payload`, :mod:`.periods`, :mod:`.schemas` —
  Scheduler jobs and how they become task payloads; :mod:`.job_record` (job states, ingest
  statuses) and :mod:`.job_document` (how a job's body is stored);
* :mod:`.limits` — sizes every layer shares.
"""
