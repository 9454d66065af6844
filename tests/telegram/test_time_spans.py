"""PTB's time spans as `timedelta`: opted in by the bot it builds, not by `import bot`.

PTB 22 reports a span (`RetryAfter.retry_after`, ...) as seconds with a
deprecation warning, or as a `timedelta` once `PTB_TIMEDELTA` is set (PTB 23's
only way); the warning comes with every 429. The bot opts in where it builds
its Application, so importing any module of the package changes nobody's
environment, and an operator's own `PTB_TIMEDELTA` stands. Each check runs in a
fresh interpreter: the test process has long imported everything.
"""

from __future__ import annotations

from pathlib import Path

from tests.harness import fresh_python

IMPORT_ONLY = """
import json, os
import bot, bot.__main__, bot.cli, bot.telegram.app, bot.delivery.ratelimiter
print(json.dumps(os.environ.get("PTB_TIMEDELTA")))
"""

BUILT = """
import json, os, warnings
from telegram.error import RetryAfter
from bot.config import Settings
from bot.telegram.app import build_application

build_application(Settings(_env_file=None), "123:TEST")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    span = RetryAfter(3).retry_after
print(json.dumps({
    "env": os.environ.get("PTB_TIMEDELTA"),
    "span": type(span).__name__,
    "warnings": [str(warning.message) for warning in caught],
}))
"""


def run(code: str, tmp_path: Path, **env: str) -> object:
    return fresh_python(
        code, tmp_path, dropped=("PTB_TIMEDELTA", "BOT_", "WEBHOOK_", "ADMIN_"), **env
    )


def test_importing_the_bot_leaves_the_environment_alone(tmp_path: Path) -> None:
    assert run(IMPORT_ONLY, tmp_path) is None


def test_a_built_bot_reads_time_spans_as_timedelta_without_a_warning(tmp_path: Path) -> None:
    assert run(BUILT, tmp_path) == {"env": "1", "span": "timedelta", "warnings": []}


def test_an_operators_own_setting_stands(tmp_path: Path) -> None:
    found = run(BUILT, tmp_path, PTB_TIMEDELTA="false")
    assert isinstance(found, dict)
    assert (found["env"], found["span"]) == ("false", "int")
    assert found["warnings"], "PTB's own deprecation notice, as the operator chose"
