"""A digest run on PostgreSQL queues what it queues on SQLite: the same store,
copied from a SQLite file into a PostgreSQL database (`store copy`), gets the
same rows with the same requests for each chat, and its targets the same
cursors and times, whether due targets are built by group or one by one."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bot.config import Settings
from bot.store.copy import copy_store
from bot.text import index_columns
from tests.digest.test_shared_build import _population, _run
from tests.postgres import Server


@pytest.mark.parametrize("reference", [False, True], ids=["by-group", "one-by-one"])
async def test_a_run_on_postgresql_queues_what_it_queues_on_sqlite(
    tmp_path: Path, settings: Settings, postgres: Server, reference: bool
) -> None:
    rng = random.Random(4)
    on_sqlite, source = await _population(tmp_path, rng, True, "sqlite", "source")
    name = f"engines_alike_{'reference' if reference else 'groups'}"
    postgres.psql(f"CREATE DATABASE {name}")
    await copy_store(source, postgres.url(name), indexer=index_columns)
    lite = await _run(on_sqlite, settings, reference=reference, batch=50)
    pg = await _run(postgres.url(name), settings, reference=reference, batch=50)
    assert lite.due.digests > 20
    assert lite.instant.digests > 20
    assert pg.outbox == lite.outbox
    assert pg.targets == lite.targets
    assert (pg.due, pg.instant, pg.grouped) == (lite.due, lite.instant, lite.grouped)
