"""Sending, editing and deleting through PTB's own Bot, checked against the emulator."""

from __future__ import annotations

import httpx
import pytest
import telegram
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken

from bot.emulator import Emulator


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


async def test_get_me_describes_the_bot(emulator: Emulator, bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert me.id == emulator.bot.id
    assert me.username == "digest_test_bot"
    assert me.is_bot
    assert me.supports_inline_queries


async def test_send_message_with_html_and_keyboard(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user("Ann", username="ann")
    markup = keyboard([("Yes", "vote:yes"), ("No", "vote:no")], [("More", "more:2")])
    sent = await bot.send_message(
        user.id,
        '<b>Digest</b> for <a href="https://example.org/a">you</a> 😀',
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
    )
    assert sent.text == "Digest for you 😀"
    assert sent.entities == (
        MessageEntity("bold", 0, 6),
        MessageEntity("text_link", 11, 3, url="https://example.org/a"),
    )
    assert sent.reply_markup == markup
    assert sent.from_user is not None
    assert sent.from_user.id == emulator.bot.id
    assert sent.chat.id == user.id
    assert sent.chat.first_name == "Ann"

    stored = emulator.bot_messages(user.id)
    assert [m.message_id for m in stored] == [sent.message_id]
    assert stored[0].callback_data == ["vote:yes", "vote:no", "more:2"]
    assert emulator.calls("sendMessage")[0].param("reply_markup") == markup.to_dict()


async def test_edit_and_delete(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    sent = await bot.send_message(user.id, "page 1", reply_markup=keyboard([("next", "p:2")]))
    edited = await bot.edit_message_text(
        "<i>page 2</i>", user.id, sent.message_id, parse_mode="HTML"
    )
    assert isinstance(edited, telegram.Message)
    assert edited.text == "page 2"
    assert edited.edit_date is not None
    assert edited.reply_markup is None

    again = await bot.edit_message_reply_markup(
        user.id, sent.message_id, reply_markup=keyboard([("back", "p:1")])
    )
    assert isinstance(again, telegram.Message)
    assert emulator.bot_messages(user.id)[0].callback_data == ["p:1"]
    assert emulator.bot_messages(user.id)[0].text == "page 2"

    assert await bot.delete_message(user.id, sent.message_id)
    assert emulator.bot_messages(user.id) == []
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(user.id, sent.message_id)
    assert len(emulator.take_protocol_errors()) == 1


async def test_not_modified_is_refused(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    sent = await bot.send_message(user.id, "<b>same</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("<b>same</b>", user.id, sent.message_id, parse_mode="HTML")
    await bot.edit_message_text("same", user.id, sent.message_id)
    assert emulator.take_protocol_errors()[0].method == "editMessageText"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("<b>unclosed", "Can't parse entities: can't find end tag"),
        ("1 < 2", 'Can\'t parse entities: unsupported start tag ""'),
        ("<p>para</p>", 'Can\'t parse entities: unsupported start tag "p"'),
        ("x" * 4097, "Message is too long"),
        ("  ", "Message text is empty"),
    ],
)
async def test_bad_text_is_refused(
    emulator: Emulator, bot: telegram.Bot, text: str, error: str
) -> None:
    user = emulator.add_user()
    with pytest.raises(BadRequest, match=error):
        await bot.send_message(user.id, text, parse_mode="HTML")
    assert emulator.bot_messages(user.id) == []
    assert len(emulator.take_protocol_errors()) == 1


async def test_well_formed_html_is_accepted(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    text = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s>"
        '<strike>k</strike><del>d</del><span class="tg-spoiler">p</span><tg-spoiler>t</tg-spoiler>'
        '<a href="http://x.org">a</a><code>c</code><pre><code class="language-py">x</code></pre>'
        "<blockquote>q</blockquote><blockquote expandable>w</blockquote> &lt;&gt;&amp;&quot;&#33;"
    )
    sent = await bot.send_message(user.id, text, parse_mode="HTML")
    assert sent.text is not None
    assert sent.text.endswith(' <>&"!')
    assert len(sent.entities) == 16


async def test_callback_data_limits(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    await bot.send_message(user.id, "ok", reply_markup=keyboard([("x", "d" * 64)]))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(user.id, "long", reply_markup=keyboard([("x", "d" * 65)]))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(user.id, "wide", reply_markup=keyboard([("x", "é" * 33)]))
    many = keyboard(*[[(str(i), str(i))] for i in range(101)])
    with pytest.raises(BadRequest, match="Reply markup is too long"):
        await bot.send_message(user.id, "many", reply_markup=many)
    text_only = InlineKeyboardMarkup([[InlineKeyboardButton("x", url="ftp://x")]])
    with pytest.raises(BadRequest, match="Button_url_invalid"):
        await bot.send_message(user.id, "url", reply_markup=text_only)
    assert len(emulator.take_protocol_errors()) == 4


async def test_reply_keyboard_is_accepted_but_not_echoed(
    emulator: Emulator, bot: telegram.Bot
) -> None:
    user = emulator.add_user()
    sent = await bot.send_message(user.id, "pick", reply_markup=ReplyKeyboardMarkup([["a", "b"]]))
    assert sent.reply_markup is None


async def test_unknown_chat_and_private_chat_rules(emulator: Emulator, bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "hello")
    emulator.add_user(username="someone")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message("@someone", "users are not reachable by username")
    assert len(emulator.take_protocol_errors()) == 2

    stranger = emulator.add_user(started=False)
    with pytest.raises(Forbidden, match="bot can't initiate conversation"):
        await bot.send_message(stranger.id, "hello")
    emulator.send_user_message(stranger.id, stranger.id, "/start")
    await bot.send_message(stranger.id, "welcome")
    assert emulator.protocol_errors == []


async def test_replies_and_forum_topics(emulator: Emulator, bot: telegram.Bot) -> None:
    owner = emulator.add_user()
    forum = emulator.add_supergroup("Forum", forum=True, owner_id=owner.id)
    thread = emulator.add_topic(forum.id, "Science")
    update = emulator.send_user_message(forum.id, owner.id, "/digest@digest_test_bot", thread)
    assert update is not None
    asked = update["message"]
    assert asked["message_thread_id"] == thread
    assert asked["is_topic_message"]
    assert asked["entities"] == [{"type": "bot_command", "offset": 0, "length": 23}]

    sent = await bot.send_message(
        forum.id,
        "answer",
        message_thread_id=thread,
        reply_parameters=ReplyParameters(asked["message_id"]),
    )
    assert sent.message_thread_id == thread
    assert sent.is_topic_message
    assert sent.reply_to_message is not None
    assert sent.reply_to_message.message_id == asked["message_id"]
    assert [m.text for m in emulator.bot_messages(forum.id, thread_id=thread)] == ["answer"]

    with pytest.raises(BadRequest, match="Message thread not found"):
        await bot.send_message(forum.id, "lost", message_thread_id=thread + 100)
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(forum.id, "lost", reply_parameters=ReplyParameters(9999))
    assert len(emulator.take_protocol_errors()) == 2


async def test_copy_forward_and_chat_action(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    channel = emulator.add_channel("News", username="news")
    post = await bot.send_message("@news", "<b>Headline</b>", parse_mode="HTML")
    assert post.sender_chat is not None
    assert post.sender_chat.id == channel.id

    copied = await bot.copy_message(user.id, channel.id, post.message_id)
    forwarded = await bot.forward_message(user.id, channel.id, post.message_id)
    assert forwarded.forward_origin is not None
    texts = [(m.text, len(m.entities)) for m in emulator.bot_messages(user.id)]
    assert texts == [("Headline", 1), ("Headline", 1)]
    assert emulator.bot_messages(user.id)[0].message_id == copied.message_id

    assert await bot.send_chat_action(user.id, "typing")
    with pytest.raises(BadRequest, match="Wrong parameter action"):
        await bot.send_chat_action(user.id, "dancing")
    assert len(emulator.take_protocol_errors()) == 1


async def test_channel_needs_admin_rights(emulator: Emulator, bot: telegram.Bot) -> None:
    channel = emulator.add_channel("Quiet", bot_status="member")
    with pytest.raises(BadRequest, match="Need administrator rights in the channel chat"):
        await bot.send_message(channel.id, "hello")
    assert emulator.protocol_errors == []


async def test_chats_and_members(emulator: Emulator, bot: telegram.Bot) -> None:
    owner, admin, member = emulator.add_user(), emulator.add_user(), emulator.add_user()
    group = emulator.add_supergroup(
        "Readers", owner_id=owner.id, admins=[admin.id], members=[member.id], username="readers"
    )
    chat = await bot.get_chat("@readers")
    assert chat.id == group.id
    assert chat.type == "supergroup"
    assert chat.title == "Readers"
    assert (await bot.get_chat_member(group.id, admin.id)).status == "administrator"
    assert (await bot.get_chat_member(group.id, member.id)).status == "member"
    assert (await bot.get_chat_member(group.id, emulator.bot.id)).status == "member"
    emulator.set_admin(group.id, member.id)
    admins = await bot.get_chat_administrators(group.id)
    assert sorted(a.user.id for a in admins) == sorted([owner.id, admin.id, member.id])
    assert {a.status for a in admins} == {"creator", "administrator"}


async def test_wrong_token_unknown_method_and_raw_http(emulator: Emulator) -> None:
    async with httpx.AsyncClient() as client:
        base = f"{emulator.base_url}{emulator.token}"
        answer = await client.post(f"{base}/noSuchMethod")
        assert answer.status_code == 404
        assert answer.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        assert emulator.take_protocol_errors()[0].method == "noSuchMethod"

        wrong = await client.get(f"{emulator.base_url}1:wrong/getMe")
        assert wrong.status_code == 401
        assert wrong.json()["description"] == "Unauthorized"

        lower = await client.get(f"{base}/getme")
        assert lower.json()["result"]["id"] == emulator.bot.id

        user = emulator.add_user()
        as_json = await client.post(f"{base}/SENDMESSAGE", json={"chat_id": user.id, "text": "j"})
        assert as_json.json()["result"]["text"] == "j"

        missing = await client.post(f"{base}/sendMessage", data={"text": "no chat"})
        assert missing.json()["description"] == "Bad Request: chat_id is empty"
        assert len(emulator.take_protocol_errors()) == 1

    with pytest.raises(InvalidToken):
        await telegram.Bot(
            "1:wrong", base_url=emulator.base_url, base_file_url=emulator.base_file_url
        ).get_me()


async def test_waiting_walks_through_replies_and_events_feed(
    emulator: Emulator, bot: telegram.Bot
) -> None:
    user = emulator.add_user()
    feed = emulator.events()
    for text in ("one", "two", "three"):
        await bot.send_message(user.id, text)
    assert (await emulator.wait_for_bot_message(user.id)).text == "one"
    assert (await emulator.wait_for_bot_message(user.id)).text == "two"
    third = await emulator.wait_for_bot_message(user.id, lambda m: m.text == "three")
    with pytest.raises(TimeoutError, match=r"condition not met within 0\.05s"):
        await emulator.wait_for_bot_message(user.id, timeout=0.05)

    await bot.delete_message(user.id, third.message_id)
    kinds = [(await feed.__anext__()).kind for _ in range(4)]
    assert kinds == ["sent", "sent", "sent", "deleted"]
    feed.close()


async def test_member_states_deserialise(emulator: Emulator, bot: telegram.Bot) -> None:
    outsider = emulator.add_user()
    group = emulator.add_supergroup("G", bot_status="administrator")
    left = await bot.get_chat_member(group.id, outsider.id)
    assert isinstance(left, telegram.ChatMemberLeft)
    me = await bot.get_chat_member(group.id, emulator.bot.id)
    assert isinstance(me, telegram.ChatMemberAdministrator)
    assert me.can_delete_messages
    emulator.bot_membership_changed(group.id, outsider.id, "kicked")
    (update,) = await bot.get_updates()
    assert update.my_chat_member is not None
    assert isinstance(update.my_chat_member.new_chat_member, telegram.ChatMemberBanned)
    with pytest.raises(Forbidden, match="bot was kicked from the supergroup chat"):
        await bot.send_message(group.id, "still here?")
