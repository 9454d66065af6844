"""The tests' PostgreSQL server (`tests/postgres.py`): real, new enough, private."""

from __future__ import annotations

from tests.postgres import USER, Server


def test_the_server_is_a_real_postgresql_15_or_newer(postgres: Server) -> None:
    assert int(postgres.psql("SHOW server_version_num")) >= 150_000
    assert postgres.psql("SELECT current_user") == USER


def test_the_server_listens_on_loopback_only_and_keeps_what_it_is_given(
    postgres: Server,
) -> None:
    assert postgres.psql("SHOW listen_addresses") == "127.0.0.1"
    postgres.psql("CREATE DATABASE kept")
    postgres.psql("CREATE TABLE t (word text); INSERT INTO t VALUES ('juárez')", "kept")
    assert postgres.psql("SELECT word FROM t", "kept") == "juárez"
