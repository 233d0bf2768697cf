"""A conformance kit for kv drivers, importable without pytest (trio's ``check_*`` shape).

- `CHECKS`: every obligation of the driver contract as a named check: Kuma's own store tests (cases 1
  to 32, see `kv.testing.kuma_cases`) and what kv promises beyond them (`kv.testing.contract`).
  Run one with ``run_check(check, factory)``.
- `run_state_machine(factory)`: the model-based test (`StoreMachine`): a store and a dict model side by
  side under random operations.
- `check_concurrent_cas(factory)`: threads racing compare-and-set on one record lose no update.
- `Recorder`, `History`, `run_workload` and `check_chain` / `check_linearizable`: record what threads
  did to a store and check the history is linearizable (`kv.testing.history`, `kv.testing.linearizability`).

*factory* returns a fresh, empty `kv.Store` per call. A driver that only supports some record types
passes `Types` naming the ones to use. With pytest, the ``kv`` plugin wraps all of this in
`kv.pytest_plugin.ConformanceTests`.
"""

from __future__ import annotations

from kv.testing import contract, kuma_cases  # registers the checks, in this order
from kv.testing.concurrency import CasReport, check_concurrent_cas
from kv.testing.history import History, Operation, Outcome, Recorder, Report, Violation, run_workload
from kv.testing.linearizability import check_chain, check_linearizable
from kv.testing.machine import StoreMachine, run_state_machine
from kv.testing.suite import CHECKS, Check, StoreFactory, Types, raises, run_check

__all__ = [
    "CHECKS",
    "CasReport",
    "Check",
    "History",
    "Operation",
    "Outcome",
    "Recorder",
    "Report",
    "StoreFactory",
    "StoreMachine",
    "Types",
    "Violation",
    "check_chain",
    "check_concurrent_cas",
    "check_linearizable",
    "contract",
    "kuma_cases",
    "raises",
    "run_check",
    "run_state_machine",
    "run_workload",
]
