"""A non-editable install finds the data it reads by default.

The wheel is built from a copy of the sources (nothing is written into the
checkout) and installed into a folder of its own; `python -m bot search` then
runs from another directory with none of the paths set. It must find the topic
catalogue, the feed list and the sample inside the installed package, and keep
its database in the directory it runs in, not in the package.

Offline: the build uses the setuptools already installed (the test extra brings
one new enough to read this pyproject.toml) instead of fetching one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ("bot/data/topics.toml", "bot/data/feeds.toml", "bot/data/articles.txt")
PATH_SETTINGS = ("DATABASE_PATH", "SEED_LISTING_PATH", "TOPICS_PATH", "FEEDS_PATH")


def _setuptools_major() -> int:
    try:
        return int(version("setuptools").split(".")[0])
    except PackageNotFoundError:
        return 0


# setuptools < 77 cannot read the SPDX `license` of pyproject.toml.
pytestmark = pytest.mark.skipif(
    _setuptools_major() < 77, reason="needs setuptools >= 77 (the test extra) to build offline"
)


def pip(*args: str, cwd: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", *args, "--quiet", "--no-index", "--no-deps"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package as `pip install .` lays it out, in a folder of its own."""
    base = tmp_path_factory.mktemp("package")
    source = base / "source"
    shutil.copytree(ROOT / "bot", source / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pip("wheel", "--no-build-isolation", "--wheel-dir", str(base / "dist"), str(source), cwd=base)
    (wheel,) = (base / "dist").glob("digestbot-*.whl")
    site = base / "site"
    pip("install", "--target", str(site), str(wheel), cwd=base)
    return site


def run_installed(
    site: Path, cwd: Path, *args: str, **settings: str
) -> subprocess.CompletedProcess[str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in PATH_SETTINGS and not name.startswith(("BOT_", "PYTHON"))
    }
    env.update(PYTHONPATH=str(site), **settings)
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,  # no .env, no checkout
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_wheel_carries_the_data_the_bot_reads(installed: Path) -> None:
    for name in BUNDLED:
        shipped = installed / name
        assert shipped.read_bytes() == (ROOT / name).read_bytes(), name


def test_an_installed_bot_searches_its_sample_from_any_directory(
    installed: Path, tmp_path: Path
) -> None:
    where = run_installed(
        installed,
        tmp_path,
        "-c",
        "import json, bot.config as c; s = c.Settings(_env_file=None); "
        "print(json.dumps([c.__file__, str(s.topics_path), str(s.database_path)]))",
    )
    assert where.returncode == 0, where.stderr
    module, topics, database = json.loads(where.stdout)
    assert Path(module).is_relative_to(installed), "the installed copy, not the checkout"
    assert Path(topics) == installed / "bot" / "data" / "topics.toml"
    assert database == str(Path("data") / "bot.sqlite3")

    found = run_installed(installed, tmp_path, "-m", "bot", "search", "juarez")
    assert found.returncode == 0, found.stderr
    assert "Ciudad Juárez" in found.stdout
    assert (tmp_path / "data" / "bot.sqlite3").is_file()
    assert not list(installed.rglob("*.sqlite3")), "nothing written into the package"


def test_an_installed_bot_still_reads_the_topics_it_is_given(
    installed: Path, tmp_path: Path
) -> None:
    own = tmp_path / "topics.toml"
    own.write_text(
        '[[topic]]\nslug = "border"\nen = "The border"\nes = "La frontera"\n'
        'keywords_en = ["juarez"]\nkeywords_es = ["juárez"]\n',
        "utf-8",
    )
    found = run_installed(installed, tmp_path, "-m", "bot", "topics", TOPICS_PATH=str(own))
    assert found.returncode == 0, found.stderr
    assert "border" in found.stdout
    assert "migration" not in found.stdout, "the bundled catalogue is not read"
