"""The bodies of the repeating jobs: due digests, instant digests, feed polling
and pruning.

Each scans an index for the work that is due instead of being scheduled once
per chat, so three of them run every minute whatever the number of chats and a
fourth daily (`bot.telegram.jobs` puts them on PTB's JobQueue). They are plain
methods taking an optional `now`, so tests call them directly and move time
instead of sleeping.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.alerts import report_failure
from bot.digest.dispatch import DispatchReport, dispatch_due
from bot.digest.instant import articles_arrived, run_instant
from bot.ingest.poller import PollReport, poll_due, sync_feeds
from bot.services import Services
from bot.store.retention import PruneReport, prune

log = logging.getLogger(__name__)


@dataclass
class DigestJobs:
    """The job bodies. Each catches and logs its own failure, and tells the admins
    (`bot.alerts`, throttled): one bad run never stops the schedule, and within a
    run a bad target or feed is skipped by dispatch and the poller themselves."""

    services: Services
    feeds_synced: bool = False

    def _now(self, now: int | None) -> int:
        return self.services.now() if now is None else now

    async def due(self, now: int | None = None) -> DispatchReport | None:
        at = self._now(now)
        try:
            report = await dispatch_due(self.services, at)
        except Exception as exc:
            log.exception("scheduled digests failed (now=%d)", at)
            await report_failure(self.services, "job digests-due", exc)
            return None
        if report.targets:
            log.info("scheduled digests: %s", report)
        return report

    async def instant(self, now: int | None = None) -> DispatchReport | None:
        at = self._now(now)
        try:
            return await run_instant(self.services, at)
        except Exception as exc:
            log.exception("instant digests failed (now=%d)", at)
            await report_failure(self.services, "job digests-instant", exc)
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
        except Exception as exc:
            log.exception("feed polling failed (now=%d)", at)
            await report_failure(self.services, "job feeds-poll", exc)
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
        except Exception as exc:
            log.exception("pruning failed (now=%d)", at)
            await report_failure(self.services, "job prune", exc)
            return None
        if report.outbox or report.audit or report.broadcasts or report.payloads:
            log.info("pruned: %s", report)
        return report
