"""Whatever a user types or a client forges: a valid Telegram request back,
never a traceback, never an apology for an internal error."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.chat import bot_on_emulator
from bot.config import Settings
from bot.delivery.limits import Limits
from bot.emulator import Emulator
from bot.ingest.entry import Entry
from bot.ingest.pipeline import ingest
from bot.runtime import open_content
from bot.services import Services
from bot.store import subscriptions
from tests.harness import Harness

APOLOGY = ("Sorry, something went wrong", "Lo siento, algo falló")
COMMANDS = (
    "/search ",
    "/topic ",
    "/latest ",
    "/subscribe ",
    "/unsubscribe ",
    "/settings ",
    "/settings time ",
    "/settings timezone ",
    "/channel_subscribe ",
    "/start ",
    "",  # plain text: a search in a private chat
)
JUNK = st.sampled_from(
    [
        '"',
        "(",
        ")",
        "*",
        "-",
        "NOT",
        "AND",
        "OR",
        "NEAR(",
        "topic:",
        "lang:",
        "{",
        "}",
        "<b>",
        "</i>",
        "<script>alert(1)</script>",
        "&amp;",
        "&",
        "<",
        ">",
        "'; DROP TABLE articles; --",
        "\u200b",
        "\u200f",
        "\u202e",
        "\ufeff",
        "🙂",
        "👩‍👩‍👧",
        "*bold*",
        "_it_",
        "[x](http://e.org)",
        "`code`",
        "\\",
        "\n",
        "\t",
        "@digest_test_bot",
    ]
)
TEXT = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(JUNK, st.text(max_size=10)), max_size=30).map(" ".join),
    st.sampled_from(["x" * 4096, "é" * 4096, "🙂" * 3000, "a " * 5000, "<" * 10000]),
)


@pytest.fixture
async def quick(emulator: Emulator, settings: Settings) -> AsyncIterator[Harness]:
    """The real bot with per-chat spacing shortened: the emulator checks every
    request but does not enforce flood limits here."""
    content = await open_content(settings)
    services = Services(settings, content.db, content.catalogue, run_jobs=False)
    limits = Limits(rate_per_second=500, private_interval=0.0, group_interval=0.0)
    try:
        async with bot_on_emulator(emulator, settings, services=services, limits=limits) as app:
            yield Harness(emulator, services, app)
    finally:
        await content.db.close()


def _assert_clean(text: str | None) -> None:
    assert text, "every command gets an answer"
    assert "Traceback" not in text
    assert not text.startswith(APOLOGY), text


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=TEXT)
async def test_every_command_answers_any_text(quick: Harness, text: str) -> None:
    user = quick.emulator.add_user("Fuzz", language_code="es")
    for command in COMMANDS:
        message = (command + text)[:4096]
        if not message.strip():
            continue
        reply = await quick.say(user.id, user.id, message)
        _assert_clean(reply.text)
    query_id = quick.emulator.inline_query(user.id, text[:256])
    await quick.emulator.wait_for_inline_answer(query_id)
    assert quick.emulator.take_protocol_errors() == []


async def test_forged_callback_data_changes_nothing(quick: Harness) -> None:
    emulator = quick.emulator
    owner, intruder = emulator.add_user("Owner"), emulator.add_user("Intruder")
    await quick.say(owner.id, owner.id, "/subscribe migration")
    mine = await quick.say(owner.id, owner.id, "/mysubs")
    victim_ids = [int(data.split(":")[1]) for data in mine.callback_data]
    theirs = await quick.say(intruder.id, intruder.id, "/topics")
    forged = [
        *(f"u:{victim}" for victim in victim_ids),  # another chat's subscription
        "zz",
        "u:",
        "u:99999999999",
        "t:nonexistent",
        "ts:no-such-topic",
        "st:language:fr",
        "st:timezone:Mars/Olympus",
        "sm:admin",
        "s:9:",
        "sk:0:deadbeef",
        "dg:1:0:9:0",
        "dg:99:1:2:0",
        "x" * 64,
        "é" * 32,
    ]
    for data in forged:
        query_id = emulator.press_button(
            intruder.id, theirs.message_id, forged_data=data, user_id=intruder.id
        )
        answer = await emulator.wait_for_callback_answer(query_id)
        assert not (answer.text or "").startswith(APOLOGY), (data, answer.text)
    target_subs = await subscriptions.list_for_target(
        quick.services.db, await _target_id(quick, owner.id)
    )
    assert [(s.kind, s.value) for s in target_subs] == [("topic", "migration")]
    assert emulator.take_protocol_errors() == []


async def _target_id(harness: Harness, chat_id: int) -> int:
    from bot.store import chats

    target = await chats.get_target(harness.services.db, chat_id)
    assert target is not None
    return target.id


async def test_hostile_article_text_is_escaped_and_split(quick: Harness) -> None:
    services = quick.services
    hostile = [
        Entry(
            title="<script>alert('x')</script> & <b>unbalanced",
            summary="Tom & Jerry <i> 3 > 2",
            url="https://example.org/a?x=1&y=<2>",
        ),
        Entry(
            title="Juárez " + "very long title " * 400,
            summary="word " * 3000,
            url="https://example.org/long",
        ),
        Entry(title="Juárez &amp; friends", summary="&lt;not a tag&gt; &#x27; &bogus;"),
    ]
    await ingest(
        services.db, hostile, source="hostile", catalogue=services.catalogue, now=services.now()
    )
    user = quick.emulator.add_user("Reader")
    reply = await quick.say(user.id, user.id, "/search unbalanced")
    assert "<script>alert('x')</script> & <b>unbalanced" in (reply.text or "")
    reply = await quick.say(user.id, user.id, "/search juarez")
    assert len(reply.text or "") <= 4096
    assert "Juárez &amp; friends" in (reply.text or "")
    reply = await quick.say(user.id, user.id, "/latest")
    assert "Tom & Jerry <i> 3 > 2" in (reply.text or "")
    assert quick.emulator.take_protocol_errors() == []
