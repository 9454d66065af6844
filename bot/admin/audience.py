"""Who a broadcast goes to, as the admin writes it after /broadcast.

`/broadcast topic:migration lang:es Hello` → chats following the topic whose
interface is in Spanish, and the text "Hello". Audience words come first;
everything after them is the message. With no audience word the broadcast
goes to every active chat.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.formatting import escape
from bot.i18n import t
from bot.languages import LANGUAGES

_WORD = re.compile(r"\S+")
_AUDIENCE = re.compile(r"^(?P<kind>topic|lang):(?P<value>\S*)$", re.IGNORECASE)
MAX_TOPICS = 20


class AudienceError(Exception):
    """The audience words are wrong; `key` names the catalogue text that says how."""

    def __init__(self, key: str, **values: str) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class Audience:
    topics: tuple[str, ...] = ()  # any of these (slugs); empty: no topic condition
    language: str | None = None  # interface language; None: any

    @property
    def everyone(self) -> bool:
        return not self.topics and self.language is None

    def key(self) -> str:
        """How the audience is stored: 'all', 'topic:a,b', 'lang:es' or both."""
        parts = []
        if self.topics:
            parts.append("topic:" + ",".join(self.topics))
        if self.language:
            parts.append(f"lang:{self.language}")
        return " ".join(parts) or "all"

    @classmethod
    def from_key(cls, key: str) -> Audience:
        topics: tuple[str, ...] = ()
        language = None
        for part in key.split():
            kind, _, value = part.partition(":")
            if kind == "topic":
                topics = tuple(value.split(","))
            elif kind == "lang":
                language = value
        return cls(topics, language)


def describe(audience: Audience, language: str, topic_names: Mapping[str, str]) -> str:
    """The audience in words, for the preview and the progress message (HTML)."""
    topics = ", ".join(escape(topic_names.get(slug, slug)) for slug in audience.topics)
    spoken = t(language, f"admin.language_{audience.language}") if audience.language else ""
    if audience.topics and audience.language:
        return t(language, "admin.audience_topics_language", topics=topics, language=spoken)
    if audience.topics:
        return t(language, "admin.audience_topics", topics=topics)
    if audience.language:
        return t(language, "admin.audience_language", language=spoken)
    return t(language, "admin.audience_all")


@dataclass(frozen=True)
class Request:
    audience: Audience
    body: str  # the message text after the audience words, as typed
    body_start: int  # where `body` starts in the text that was parsed


def parse(text: str, resolve_topic: Callable[[str], str | None]) -> Request:
    """Split the words after /broadcast into the audience and the message.

    `resolve_topic` maps a name the admin typed to a topic slug (None if
    unknown). Raises AudienceError for an unknown topic or language.
    """
    topics: list[str] = []
    language: str | None = None
    position = 0
    for word in _WORD.finditer(text):
        match = _AUDIENCE.match(word.group())
        if match is None and word.group().lower() != "all":
            break
        position = word.end()
        if match is None:
            continue
        value = match["value"]
        if match["kind"].lower() == "lang":
            language = _language(value)
            continue
        for name in filter(None, value.split(",")):
            slug = resolve_topic(name.replace("_", " ")) or resolve_topic(name)
            if slug is None:
                raise AudienceError("admin.audience_unknown_topic", topic=name)
            if slug not in topics:
                topics.append(slug)
        if not value.strip(","):
            raise AudienceError("admin.audience_empty_topic")
    if len(topics) > MAX_TOPICS:
        raise AudienceError("admin.audience_too_many_topics", limit=str(MAX_TOPICS))
    rest = text[position:]
    body = rest.strip()
    start = position + (len(rest) - len(rest.lstrip())) if body else len(text)
    return Request(Audience(tuple(topics), language), body, start)


def _language(value: str) -> str:
    code = value.lower()
    if code not in LANGUAGES:
        raise AudienceError(
            "admin.audience_unknown_language", language=value, known=", ".join(LANGUAGES)
        )
    return code


def body_html(text: str, text_html: str, body_start: int) -> str:
    """The admin's formatting kept for the part of a message after `body_start`.

    `text_html` is the whole message as Telegram HTML (entities applied). The
    command and audience words before the body are plain text, so their
    escaped form is a prefix of `text_html`; cutting it off leaves the body
    with its formatting. If a format spans that prefix (the whole message in
    bold, say), the body is sent as escaped plain text instead.
    """
    body = text[body_start:].strip()
    if not body:
        return ""
    prefix = html.escape(text[:body_start])
    if text_html.startswith(prefix):
        return text_html[len(prefix) :].strip()
    return html.escape(body, quote=False)
