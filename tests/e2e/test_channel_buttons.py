"""Buttons in a channel: its readers see them and can press them, but only the
channel's admins may change its settings and subscriptions or make the bot post
there. Through the real Application and the emulator playing a channel reader."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.chat import bot_on_emulator
from bot.config import Settings
from bot.delivery.limits import Limits
from bot.digest.dispatch import dispatch_due
from bot.emulator import ChatRecord, Emulator, MessageRecord, UserRecord
from bot.ingest.entry import Entry
from bot.ingest.pipeline import ingest
from bot.runtime import open_content
from bot.services import Services
from bot.store import chats, subscriptions
from bot.store.chats import Target
from bot.telegram.keyboards import parse
from tests.harness import Harness

REFUSAL = "Only this channel's administrators can use its buttons."
START = 1_795_000_000.0  # any fixed moment: the tests move the clock, never wait on it


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Scene:
    harness: Harness
    clock: Clock
    channel: ChatRecord
    editor: UserRecord  # one of the channel's admins
    reader: UserRecord  # a subscriber: sees every post, presses every button, is no admin
    passer_by: UserRecord  # reads the public channel without having joined it

    @property
    def emulator(self) -> Emulator:
        return self.harness.emulator

    @property
    def services(self) -> Services:
        return self.harness.services

    async def post(self, text: str) -> MessageRecord:
        """An admin posts a command in the channel; the bot's answer there."""
        self.emulator.channel_post(self.channel.id, text)
        return await self.emulator.wait_for_bot_message(self.channel.id)

    async def press(
        self, message: MessageRecord, user: UserRecord, data: str, *, forged: bool = False
    ) -> str | None:
        """`user` presses the button carrying `data` (or sends `data` as a modified
        client would); the text of the bot's answer."""
        emulator = self.emulator
        if forged:
            query_id = emulator.press_button(
                self.channel.id, message.message_id, user_id=user.id, forged_data=data
            )
        else:
            query_id = emulator.press_button(
                self.channel.id, message.message_id, data, user_id=user.id
            )
        return (await emulator.wait_for_callback_answer(query_id)).text

    def snapshot(self) -> list[tuple[int, str | None, Any]]:
        """Every message in the channel as its readers see it."""
        return [
            (m.message_id, m.text, copy.deepcopy(m.reply_markup))
            for m in self.emulator.messages(self.channel.id)
        ]

    async def target(self) -> Target:
        found = await chats.get_target(self.services.db, self.channel.id, 0)
        assert found is not None
        return found

    def member_checks(self, user: UserRecord) -> int:
        return sum(
            1
            for r in self.emulator.calls("getChatMember")
            if r.params.get("chat_id") == str(self.channel.id)
            and r.params.get("user_id") == str(user.id)
        )


@pytest.fixture
async def scene(emulator: Emulator, settings: Settings) -> AsyncIterator[Scene]:
    clock = Clock(START)
    editor, reader, passer_by = (emulator.add_user(n) for n in ("Editor", "Reader", "Passer"))
    channel = emulator.add_channel("Notes", admins=[editor.id], members=[reader.id])
    content = await open_content(settings)
    services = Services(settings, content.db, content.catalogue, clock=clock, run_jobs=False)
    # The emulator does not enforce limits here: no need to wait 3 s per channel post.
    quick = Limits(group_interval=0.05, private_interval=0.05)
    try:
        async with bot_on_emulator(emulator, settings, services=services, limits=quick) as app:
            yield Scene(Harness(emulator, services, app), clock, channel, editor, reader, passer_by)
    finally:
        await content.db.close()


@pytest.mark.parametrize("who", ["reader", "passer_by"])
async def test_a_reader_cannot_change_the_channels_settings(scene: Scene, who: str) -> None:
    viewer: UserRecord = getattr(scene, who)
    menu = await scene.post("/settings digest instant")
    assert "Digest: instant" in (menu.text or "")
    seen = scene.snapshot()

    for data, forged in (("sm:mode", False), ("st:digest:off", True), ("sm:done", False)):
        assert await scene.press(menu, viewer, data, forged=forged) == REFUSAL
    assert scene.snapshot() == seen  # not edited, nothing posted
    assert (await scene.target()).digest_mode == "instant"

    await scene.press(menu, scene.editor, "sm:mode")
    picker = await scene.harness.button_shown(menu, "off")
    await scene.press(picker, scene.editor, "st:digest:off")
    assert (await scene.target()).digest_mode == "off"


async def test_a_reader_cannot_remove_the_channels_subscription(scene: Scene) -> None:
    await scene.post("/subscribe migration")
    listing = await scene.post("/mysubs")
    (remove,) = [b["callback_data"] for b in listing.buttons]
    target = await scene.target()
    seen = scene.snapshot()

    for viewer in (scene.reader, scene.passer_by):
        assert await scene.press(listing, viewer, remove) == REFUSAL
    assert scene.snapshot() == seen
    assert [s.value for s in await subscriptions.list_for_target(scene.services.db, target.id)] == [
        "migration"
    ]

    await scene.press(listing, scene.editor, remove)
    assert await subscriptions.list_for_target(scene.services.db, target.id) == []


async def test_a_reader_cannot_make_the_bot_post_in_the_channel(scene: Scene) -> None:
    """Old or forged buttons of every kind that posts, edits or toggles."""
    message = await scene.post("/help")
    target = await scene.target()
    seen = scene.snapshot()
    presses = ["lt", "lt", "lt", "tl", "t:migration", "ts:migration", "s:1:migrants", "sm:main"]
    for data in presses:
        assert await scene.press(message, scene.reader, data, forged=True) == REFUSAL
    assert scene.snapshot() == seen
    assert await subscriptions.list_for_target(scene.services.db, target.id) == []

    # The same press by an admin does post: the refusal above is about who pressed.
    assert await scene.press(message, scene.editor, "lt", forged=True) is None
    latest = await scene.emulator.wait_for_bot_message(scene.channel.id)
    assert "Latest" in (latest.text or "")


async def test_an_admin_check_is_asked_once_a_minute(scene: Scene) -> None:
    menu = await scene.post("/settings")
    for _ in range(3):
        assert await scene.press(menu, scene.reader, "sm:mode") == REFUSAL
    assert scene.member_checks(scene.reader) == 1

    scene.clock.now += 61  # past the cache's lifetime: Telegram is asked again
    assert await scene.press(menu, scene.reader, "sm:mode") == REFUSAL
    assert scene.member_checks(scene.reader) == 2

    await scene.press(menu, scene.editor, "sm:mode")
    await scene.harness.button_shown(menu, "Back")
    await scene.press(menu, scene.editor, "sm:main")
    assert scene.member_checks(scene.editor) == 1


async def _publish(services: Services, titles: list[str]) -> None:
    entries = [
        Entry(title=title, summary=f"About {title}.", url=f"https://example.org/{n}")
        for n, title in enumerate(titles)
    ]
    await ingest(
        services.db,
        entries,
        source="https://example.org/feed",
        catalogue=services.catalogue,
        now=services.now(),
    )


def _kinds(message: MessageRecord) -> set[str]:
    found = [parse(button.get("callback_data")) for button in message.buttons]
    return {callback.kind for callback in found if callback is not None}


async def test_buttons_that_only_post_are_not_offered_in_channels(scene: Scene) -> None:
    services = scene.services
    limit = services.settings.digest_max_items
    await scene.post("/subscribe bulletin")
    await scene.post("/settings time 08:00")
    await _publish(services, [f"Bulletin {n:02d}" for n in range(limit + 3)])
    scene.clock.now += 24 * 3600
    assert (await dispatch_due(services, services.now())).digests == 1
    digest = await scene.emulator.wait_for_bot_message(
        scene.channel.id, lambda m: "3 more" in (m.text or ""), timeout=10
    )
    assert _kinds(digest) == set()  # no "Show 3 more": it would post into the channel

    # An admin may still press an old button; the page it shows offers no paging either.
    message = await scene.post("/help")
    assert await scene.press(message, scene.editor, "s:0:bulletin", forged=True) is None
    results = await scene.harness.edited(message, "Bulletin")
    assert "Bulletin" in (results.text or "")
    assert _kinds(results) == set()

    # In a private chat the same search pages on.
    private = await scene.harness.say(scene.reader.id, scene.reader.id, "/search bulletin")
    assert _kinds(private) == {"search"}


async def test_in_a_group_members_browse_and_admins_configure(scene: Scene) -> None:
    """The same table rules groups: anyone may press what only shows things,
    as anyone may type the command; changes are for the group's admins."""
    harness, emulator = scene.harness, scene.emulator
    admin, member = scene.editor, scene.reader
    group = emulator.add_supergroup("Readers", members=[admin.id, member.id], admins=[admin.id])
    await harness.say(group.id, admin.id, "/subscribe migration")
    listing = await harness.say(group.id, admin.id, "/mysubs")
    (remove,) = [b["callback_data"] for b in listing.buttons]
    query_id = emulator.press_button(group.id, listing.message_id, remove, user_id=member.id)
    answer = await emulator.wait_for_callback_answer(query_id)
    assert (answer.text or "").startswith("Only this group's administrators can change")
    target = await chats.get_target(scene.services.db, group.id, 0)
    assert target is not None
    assert len(await subscriptions.list_for_target(scene.services.db, target.id)) == 1

    menu = await harness.say(group.id, member.id, "/settings")
    await harness.press(menu, text="Done", user_id=member.id)

    def closed() -> bool:
        now = emulator.message(group.id, menu.message_id)
        return now is not None and now.buttons == []

    await emulator.wait_for(closed)  # "Done" only shows the settings: anyone's
    await harness.press(listing, text="Migration", user_id=admin.id)
    assert await subscriptions.list_for_target(scene.services.db, target.id) == []
