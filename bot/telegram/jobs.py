"""The repeating jobs on PTB's JobQueue (APScheduler underneath).

Three run every minute and one daily; what they do is `bot.digest.jobs.DigestJobs`,
which knows nothing of Telegram.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram.ext import Application, Job

from bot.digest.jobs import DigestJobs
from bot.services import Services
from bot.telegram.context import Context

log = logging.getLogger(__name__)

INTERVAL = 60.0
FIRST_DELAY = 5.0
PRUNE_INTERVAL = 24 * 3600.0


def install_jobs(
    application: Application[Any, Any, Any, Any, Any, Any],
    services: Services,
    *,
    interval: float = INTERVAL,
    first: float = FIRST_DELAY,
) -> DigestJobs:
    """Add the repeating jobs to the application's JobQueue. The first runs come
    `first`, 2×`first`, 3×`first` (and the daily prune 4×`first`) seconds after
    start: the bot is up before work begins, and the jobs do not hit the database
    at the same moment. Pruning at start too means a bot restarted more often than
    daily still prunes."""
    queue = application.job_queue
    if queue is None:
        raise RuntimeError("the JobQueue is missing: install python-telegram-bot[job-queue]")
    jobs = DigestJobs(services)

    async def due(context: Context) -> None:
        await jobs.due()

    async def instant(context: Context) -> None:
        await jobs.instant()

    async def poll(context: Context) -> None:
        await jobs.feeds()

    async def prune_(context: Context) -> None:
        await jobs.prune()

    # One run at a time per job, and a run missed while the previous one was
    # still busy is dropped rather than queued up.
    options = {"coalesce": True, "max_instances": 1}
    bodies = (
        ("digests-due", due, interval),
        ("digests-instant", instant, interval),
        ("feeds-poll", poll, interval),
        ("prune", prune_, PRUNE_INTERVAL),
    )
    for step, (name, callback, every) in enumerate(bodies, start=1):
        job: Job[Any] = queue.run_repeating(
            callback, every, first=first * step, name=name, job_kwargs=options
        )
        log.debug("installed job %s every %gs", job.name, every)
    return jobs
