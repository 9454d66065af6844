"""The repeating jobs: due digests, instant digests, feed polling and pruning.

Three PTB JobQueue jobs (APScheduler underneath) run every minute whatever
the number of chats: each scans an index for the work that is due instead of
scheduling one job per chat. A fourth, daily, deletes what is past its
retention. The job bodies are plain methods taking an optional `now`, so tests
call them directly and move time instead of sleeping.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from telegram.ext import Application, ContextTypes, Job

from bot.digest.dispatch import DispatchReport, dispatch_due
from bot.digest.instant import articles_arrived, run_instant
from bot.ingest.poller import PollReport, poll_due, sync_feeds
from bot.services import Services
from bot.store.retention import PruneReport, prune

log = logging.getLogger(__name__)

INTERVAL = 60.0
FIRST_DELAY = 5.0
PRUNE_INTERVAL = 24 * 3600.0


@dataclass
class DigestJobs:
    """The job bodies. Each catches and logs its own failure: one bad run never
    stops the schedule, and within a run a bad target or feed is skipped by
    dispatch and the poller themselves."""

    services: Services
    feeds_synced: bool = False

    def _now(self, now: int | None) -> int:
        return self.services.now() if now is None else now

    async def due(self, now: int | None = None) -> DispatchReport | None:
        at = self._now(now)
        try:
            report = await dispatch_due(self.services, at)
        except Exception:
            log.exception("scheduled digests failed (now=%d)", at)
            return None
        if report.targets:
            log.info("scheduled digests: %s", report)
        return report

    async def instant(self, now: int | None = None) -> DispatchReport | None:
        at = self._now(now)
        try:
            return await run_instant(self.services, at)
        except Exception:
            log.exception("instant digests failed (now=%d)", at)
            return None

    async def feeds(self, now: int | None = None) -> PollReport | None:
        """Poll due feeds (syncing feeds.toml on the first run); new articles go
        to instant targets right away rather than at the next minute."""
        at = self._now(now)
        try:
            if not self.feeds_synced:
                await sync_feeds(self.services, at)
                self.feeds_synced = True
            report = await poll_due(self.services, at)
        except Exception:
            log.exception("feed polling failed (now=%d)", at)
            return None
        if report.polled:
            log.info(
                "feeds: %d polled, %d unchanged, %d failed, %d new articles",
                report.polled,
                report.not_modified,
                report.failed,
                report.new_articles,
            )
        await articles_arrived(self.services, report.new_articles, at)
        return report

    async def prune(self, now: int | None = None) -> PruneReport | None:
        """Delete finished outbox rows and audit entries past their retention."""
        at = self._now(now)
        settings = self.services.settings
        try:
            report = await prune(
                self.services.db,
                at,
                outbox_days=settings.outbox_retention_days,
                audit_days=settings.audit_retention_days,
            )
        except Exception:
            log.exception("pruning failed (now=%d)", at)
            return None
        if report.outbox or report.audit or report.broadcasts or report.payloads:
            log.info("pruned: %s", report)
        return report


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

    async def due(context: ContextTypes.DEFAULT_TYPE) -> None:
        await jobs.due()

    async def instant(context: ContextTypes.DEFAULT_TYPE) -> None:
        await jobs.instant()

    async def poll(context: ContextTypes.DEFAULT_TYPE) -> None:
        await jobs.feeds()

    async def prune_(context: ContextTypes.DEFAULT_TYPE) -> None:
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
