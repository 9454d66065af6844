"""Inline keyboards and the callback data they carry.

Callback data is short text (Telegram allows 64 bytes) of the form
`<kind>:<arg>[:<arg>]`. Every button press is matched against a fixed pattern,
so forged or stale data is recognised and refused instead of reaching a handler.

`KINDS` is the one table of what a button may be: its pattern, how its data is
made, who may press it and whether all it does is post new messages. The
Application's button handlers are made from it (`handlers/buttons.py`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.digest.compose import PAGE_FORM, PAGE_PATTERN
from bot.i18n import autonym, t
from bot.languages import LANGUAGES
from bot.preferences import COMMON_ZONES, MODES, PICKER_TIMES, WEEKDAYS, format_minute
from bot.reader.reading import READ_FORM, READ_PATTERN
from bot.store.chats import Target
from bot.store.subscriptions import Subscription
from bot.store.topics import TopicCount

MAX_CALLBACK_BYTES = 64

Who = Literal["reader", "configurer", "admin"]


@dataclass(frozen=True)
class Kind:
    """One kind of button.

    `pattern`: what its whole data string looks like; `form`: how the data is
    made (`Kind.data`), so making and reading it are written side by side.
    `who`: "reader" buttons only show things, so anyone in the chat may press
    them; "configurer" buttons change the chat's settings or subscriptions, so
    only those who may configure the chat may; "admin" buttons are the bot
    admins' tools (ADMIN_IDS, in their private chat). In a channel every press
    speaks for the channel (its readers cannot post there), so only its admins
    may press any button. `posts`: the button serves only the one reader who
    presses it — it posts new messages, or turns a list's page — so it is not
    offered in channels, whose readers could not press it.
    """

    pattern: re.Pattern[str]
    form: str
    who: Who = "reader"
    posts: bool = False

    def data(self, **values: object) -> str:
        return self.form.format(**values)


def _kind(
    pattern: str, form: str, who: Who = "reader", *, posts: bool = False, flags: int = 0
) -> Kind:
    return Kind(re.compile(pattern, flags), form, who, posts)


_SLUG = r"(?P<slug>[a-z0-9-]{1,40})"

# kind → its data's pattern and form, who may press it, whether it posts. The
# handler of each kind is in `handlers/buttons.py`, under the same name.
KINDS = {
    "topics": _kind(r"^tl$", "tl"),
    "latest": _kind(r"^lt$", "lt", posts=True),
    "topic": _kind(rf"^t:{_SLUG}$", "t:{slug}"),
    "toggle": _kind(rf"^ts:{_SLUG}$", "ts:{slug}", "configurer"),
    "latest_page": _kind(r"^lp:(?P<page>\d{1,3})$", "lp:{page}", posts=True),
    "topic_page": _kind(rf"^tp:{_SLUG}:(?P<page>\d{{1,3}})$", "tp:{slug}:{page}", posts=True),
    "search": _kind(
        r"^s:(?P<page>\d{1,3}):(?P<query>.+)$", "s:{page}:{query}", posts=True, flags=re.DOTALL
    ),
    "search_key": _kind(
        r"^sk:(?P<page>\d{1,3}):(?P<key>[0-9a-f]{1,16})$", "sk:{page}:{key}", posts=True
    ),
    "unsubscribe": _kind(r"^u:(?P<id>\d{1,12})$", "u:{id}", "configurer"),
    "unsubscribe_all": _kind(
        r"^ua:(?P<target>\d{1,12}):(?P<upto>\d{1,12})$", "ua:{target}:{upto}", "configurer"
    ),
    "unsubscribe_keep": _kind(r"^uk$", "uk", "configurer"),
    # Made below the adapter (digest pages are built without Telegram), by
    # bot.digest.compose.PageRef.data, which parses it too: its pattern and form are there.
    "digest_page": _kind(PAGE_PATTERN, PAGE_FORM, posts=True),
    # Made below the adapter too (bot.reader.reading.read_button), under a message
    # about one article that has a full text. It posts the text, so not in channels.
    "read": _kind(READ_PATTERN, READ_FORM, posts=True),
    "settings_view": _kind(r"^sm:(?P<menu>main|done)$", "sm:{menu}"),
    "settings_menu": _kind(
        r"^sm:(?P<menu>mode|time|day|tz|lang|alang|prev)$", "sm:{menu}", "configurer"
    ),
    "settings_set": _kind(
        r"^st:(?P<field>digest|time|day|timezone|language|articles|previews):(?P<value>.{1,50})$",
        "st:{field}:{value}",
        "configurer",
    ),
    "broadcast_confirm": _kind(r"^ab:c:(?P<id>\d{1,12})$", "ab:c:{id}", "admin"),
    "broadcast_paid": _kind(r"^ab:p:(?P<id>\d{1,12})$", "ab:p:{id}", "admin"),
    "broadcast_stop": _kind(r"^ab:x:(?P<id>\d{1,12})$", "ab:x:{id}", "admin"),
}


@dataclass(frozen=True)
class Callback:
    kind: str
    args: dict[str, str]


def parse(data: str | None) -> Callback | None:
    """The button's meaning, or None for data this bot never made."""
    if not data or len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        return None
    for kind, rule in KINDS.items():
        match = rule.pattern.match(data)
        if match is not None:
            found = match.groupdict()
            return Callback(
                kind, {name: value for name, value in found.items() if value is not None}
            )
    return None


def without_posting(keyboard: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The keyboard less its buttons whose only effect is to post (for channels)."""
    if keyboard is None:
        return None
    rows = [
        kept
        for row in keyboard.inline_keyboard
        if (kept := [b for b in row if not _posts(b.callback_data)])
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def _posts(data: object) -> bool:
    callback = parse(data) if isinstance(data, str) else None
    return callback is not None and KINDS[callback.kind].posts


def _topic(slug: str) -> str:
    return KINDS["topic"].data(slug=slug)


def _setting(field: str, value: str) -> str:
    return KINDS["settings_set"].data(field=field, value=value)


_MAIN = KINDS["settings_view"].data(menu="main")


def fits(data: str) -> bool:
    return 0 < len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES


def button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def rows_of(
    buttons: Sequence[InlineKeyboardButton], width: int
) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


def start_keyboard(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                button(t(language, "reader.btn_topics"), KINDS["topics"].data()),
                button(t(language, "reader.btn_latest"), KINDS["latest"].data()),
            ],
            [button(t(language, "reader.btn_settings"), KINDS["settings_view"].data(menu="main"))],
        ]
    )


def topics_keyboard(topics: Sequence[TopicCount], language: str) -> InlineKeyboardMarkup:
    buttons = [
        button(f"{topic.name(language)} ({topic.articles})", _topic(topic.slug)) for topic in topics
    ]
    return InlineKeyboardMarkup(rows_of(buttons, 2))


def with_topics(
    keyboard: InlineKeyboardMarkup | None, named: Sequence[TopicCount], language: str
) -> InlineKeyboardMarkup | None:
    """`keyboard` with a row per topic a search names under it: one tap to the topic."""
    if not named:
        return keyboard
    rows = [list(row) for row in keyboard.inline_keyboard] if keyboard is not None else []
    for topic in named:
        label = f"🏷 {topic.name(language)} ({topic.articles})"
        rows.append([button(label, _topic(topic.slug))])
    return InlineKeyboardMarkup(rows)


def topic_keyboard(slug: str, name: str, subscribed: bool, language: str) -> InlineKeyboardMarkup:
    key = "reader.btn_unsubscribe_topic" if subscribed else "reader.btn_subscribe_topic"
    return InlineKeyboardMarkup(
        [
            [button(t(language, key, topic=name), KINDS["toggle"].data(slug=slug))],
            [button(t(language, "reader.btn_back_topics"), KINDS["topics"].data())],
        ]
    )


def more_keyboard(data: str, language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(t(language, "reader.btn_more"), data)]])


def pager(back: str | None, more: str | None, language: str) -> list[InlineKeyboardButton]:
    """The ◂ Back / More ▸ row of a cut list: each button only when there is a
    page that way (`back`, `more`: the data that shows it)."""
    row = []
    if back is not None:
        row.append(button(t(language, "reader.btn_back"), back))
    if more is not None:
        row.append(button(t(language, "reader.btn_more"), more))
    return row


def latest_pager(page: int, has_more: bool, language: str) -> list[InlineKeyboardButton]:
    """The pager of /latest at `page`."""
    kind = KINDS["latest_page"]
    return pager(
        kind.data(page=page - 1) if page else None,
        kind.data(page=page + 1) if has_more else None,
        language,
    )


def topic_pager(slug: str, page: int, has_more: bool, language: str) -> list[InlineKeyboardButton]:
    """The pager of a topic's articles at `page`."""
    kind = KINDS["topic_page"]
    return pager(
        kind.data(slug=slug, page=page - 1) if page else None,
        kind.data(slug=slug, page=page + 1) if has_more else None,
        language,
    )


def stacked(
    first: Sequence[InlineKeyboardButton], keyboard: InlineKeyboardMarkup | None
) -> InlineKeyboardMarkup | None:
    """`keyboard` with the row `first` on top (none when both are empty)."""
    rows = [list(first)] if first else []
    if keyboard is not None:
        rows.extend(list(row) for row in keyboard.inline_keyboard)
    return InlineKeyboardMarkup(rows) if rows else None


def subscriptions_keyboard(
    subscriptions: Sequence[Subscription], labels: Sequence[str]
) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [button(f"✕ {label}"[:60], KINDS["unsubscribe"].data(id=sub.id))]
            for sub, label in zip(subscriptions, labels, strict=True)
        ]
    )


def remove_all_keyboard(
    target_id: int, upto_id: int, count: int, language: str
) -> InlineKeyboardMarkup:
    """Confirm `/unsubscribe all` for the target's subscriptions up to `upto_id`."""
    return InlineKeyboardMarkup(
        [
            [
                button(
                    t(language, "subs.btn_remove_all", count=count),
                    KINDS["unsubscribe_all"].data(target=target_id, upto=upto_id),
                ),
                button(t(language, "subs.btn_keep"), KINDS["unsubscribe_keep"].data()),
            ]
        ]
    )


def settings_keyboard(language: str) -> InlineKeyboardMarkup:
    def item(key: str, menu: str) -> InlineKeyboardButton:
        kind = KINDS["settings_view" if menu == "done" else "settings_menu"]
        return button(t(language, f"settings.{key}"), kind.data(menu=menu))

    return InlineKeyboardMarkup(
        [
            [item("btn_mode", "mode"), item("btn_time", "time")],
            [item("btn_day", "day"), item("btn_timezone", "tz")],
            [item("btn_language", "lang"), item("btn_articles", "alang")],
            [item("btn_previews", "prev"), item("btn_done", "done")],
        ]
    )


def timezone_choices(zones: Sequence[str], language: str) -> InlineKeyboardMarkup:
    """The zones a typed name could mean, one tap each, for `/settings timezone san`."""
    choices = [button(zone, _setting("timezone", zone)) for zone in zones]
    rows = rows_of([c for c in choices if fits(str(c.callback_data))], 2)
    rows.append([button(t(language, "settings.btn_back"), _MAIN)])
    return InlineKeyboardMarkup(rows)


def settings_picker(menu: str, target: Target, language: str) -> InlineKeyboardMarkup:
    """The choices of one settings sub-menu, the current one ticked."""

    def choice(label: str, field: str, value: str, current: bool) -> InlineKeyboardButton:
        return button(("✓ " if current else "") + label, _setting(field, value))

    choices: list[InlineKeyboardButton]
    width = 2
    if menu == "mode":
        choices = [
            choice(t(language, f"settings.mode_{mode}"), "digest", mode, target.digest_mode == mode)
            for mode in MODES
        ]
    elif menu == "time":
        current = format_minute(target.digest_minute)
        choices = [choice(time, "time", time, time == current) for time in PICKER_TIMES]
        width = 4
    elif menu == "day":
        choices = [
            choice(
                t(language, f"settings.day_{day}"),
                "day",
                WEEKDAYS[day],
                target.digest_weekday == day,
            )
            for day in range(7)
        ]
        width = 3
    elif menu == "tz":
        zones = list(COMMON_ZONES)
        if target.timezone not in zones:
            zones.insert(0, target.timezone)
        choices = [
            choice(zone.split("/")[-1].replace("_", " "), "timezone", zone, zone == target.timezone)
            for zone in zones
        ]
    elif menu == "lang":
        choices = [
            choice(
                autonym(code),
                "language",
                code,
                target.ui_language == code,
            )
            for code in LANGUAGES
        ]
    elif menu == "prev":
        choices = [
            choice(
                t(language, f"settings.previews_{value}"),
                "previews",
                value,
                target.link_previews == (value == "on"),
            )
            for value in ("on", "off")
        ]
    else:
        choices = [
            choice(
                t(language, "settings.articles_any"),
                "articles",
                "any",
                target.article_language is None,
            ),
            *[
                choice(
                    autonym(code),
                    "articles",
                    code,
                    target.article_language == code,
                )
                for code in LANGUAGES
            ],
        ]
    rows = rows_of([c for c in choices if fits(str(c.callback_data))], width)
    rows.append([button(t(language, "settings.btn_back"), _MAIN)])
    return InlineKeyboardMarkup(rows)
