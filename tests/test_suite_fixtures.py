"""The suite opens a bare store in one fixture per engine set (`db` in tests/conftest.py,
SQLite; `db` in tests/store/conftest.py, each engine in turn).

A fixture of a test file's own that opens a database drifts from the shared one
(another file name, the topics synced or not, a close forgotten); files that
need more (the topics, a Services object) build on `db` and `catalogue` instead.
(Fixtures that start the whole bot open its content as `run` does: not a copy.)
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# Stores that are a scenario of their own, not a copy of `db`.
SCENARIOS = {
    "store/test_search_index.py::upgraded",  # an archive migrated from schema 6
    "conftest.py::migrated_template",  # PostgreSQL's migrated database the others copy
    "search/test_engines_agree.py::engines",  # one store on each engine, side by side
    "store/test_chats_and_subscriptions.py::shared",  # two processes' stores on one database
    "store/test_outbox_processes.py::processes",  # the same, claiming from one outbox
    "store/test_postgres_schema.py::lite",  # SQLite's schema, the reference for PostgreSQL's
}


def _is_fixture(function: ast.AsyncFunctionDef | ast.FunctionDef) -> bool:
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and target.attr == "fixture":
            return True
    return False


def _opens_a_store(function: ast.AsyncFunctionDef | ast.FunctionDef) -> bool:
    for node in ast.walk(function):
        if not isinstance(node, ast.Call):
            continue
        called = node.func
        if isinstance(called, ast.Attribute) and ast.unparse(called) in (
            "Database.open",
            "SQLiteDatabase.connect",
        ):
            return True
        if isinstance(called, ast.Name) and called.id == "open_db":
            return True
    return False


def store_fixtures(path: Path) -> list[str]:
    found = []
    functions = [
        node
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    for node in functions:
        if _is_fixture(node) and _opens_a_store(node):
            found.append(f"{path.relative_to(TESTS)}::{node.name}")
    return found


def test_only_the_shared_conftest_opens_a_store_for_a_fixture() -> None:
    found = [name for path in sorted(TESTS.rglob("*.py")) for name in store_fixtures(path)]
    assert [name for name in found if name not in SCENARIOS] == [
        "conftest.py::db",
        "store/conftest.py::sqlite_db",
        "store/conftest.py::db",
    ]
