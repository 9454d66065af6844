"""The repeating jobs on PTB's JobQueue (APScheduler underneath).

Three run every minute and one daily; what they do is `bot.digest.jobs.DigestJobs`,
which knows nothing of Telegram. Only the bot that leads the bots on its store runs
them (`bot.store.leader`): the lifespan installs them when it leads and removes them
when it stops leading, and each run looks again before it starts.
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
NAMES = ("digests-due", "digests-instant", "feeds-poll", "prune")


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
    daily still prunes (and a bot that takes the lead, at once).

    A run that comes while this bot does not lead does nothing: the jobs are
    removed when it stops leading, but a run may already be on its way."""
    queue = application.job_queue
    if queue is None:
        raise RuntimeError("the JobQueue is missing: install python-telegram-bot[job-queue]")
    jobs = DigestJobs(services)
    leadership = services.leadership

    async def due(context: Context) -> None:
        if leadership.leading:
            await jobs.due()

    async def instant(context: Context) -> None:
        if leadership.leading:
            await jobs.instant()

    async def poll(context: Context) -> None:
        if leadership.leading:
            await jobs.feeds()

    async def prune_(context: Context) -> None:
        if leadership.leading:
            await jobs.prune()

    # One run at a time per job, and a run missed while the previous one was
    # still busy is dropped rather than queued up.
    options = {"coalesce": True, "max_instances": 1}
    callbacks = (due, instant, poll, prune_)
    bodies = zip(NAMES, callbacks, (interval, interval, interval, PRUNE_INTERVAL), strict=True)
    for step, (name, callback, every) in enumerate(bodies, start=1):
        job: Job[Any] = queue.run_repeating(
            callback, every, first=first * step, name=name, job_kwargs=options
        )
        log.debug("installed job %s every %gs", job.name, every)
    return jobs


def remove_jobs(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Take the repeating jobs off a running JobQueue (this bot stopped leading); a run
    under way finishes. A stopped queue keeps them: it runs nothing more anyway."""
    queue = application.job_queue
    if queue is None or not queue.scheduler.running:
        return
    for name in NAMES:
        for job in queue.get_jobs_by_name(name):
            job.schedule_removal()
