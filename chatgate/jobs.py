"""The background jobs `chatgate serve` runs: each in one process at a time across every process and machine.

A job is a coroutine function that runs until cancelled; wrap its body in `core.store.lease.run_exclusive(store,
name, ...)` so that only the holder of its lease works. Add a job by adding it to `background_jobs`.
"""

from __future__ import annotations

from channels import Runner
from core.billing.reconcile import reconciliation_job
from core.services import Services


def background_jobs(services: Services) -> list[Runner]:
    """Return the jobs to run while the server runs."""

    async def reconcile_orders() -> None:  # asks XunhuPay about unnotified orders, expires unpaid ones
        await reconciliation_job(services.store, services.settings, services.http, services.clock, services.metrics)

    return [reconcile_orders]
