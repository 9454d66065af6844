"""Plain text from the HTML and sloppy text that sources send.

Everything an article shows in a chat passes through here, so these functions
accept any string and never raise: a broken summary must not stop a feed.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["clean_text", "clean_title", "clip", "html_to_text"]

# Elements whose content is never text a reader should see.
_SKIPPED = frozenset({"script", "style", "noscript", "template", "iframe", "title"})
# Elements that end a line; paragraphs additionally leave a blank line.
_LINE_BREAKS = frozenset(
    {
        "br", "div", "li", "dt", "dd", "tr", "ul", "ol", "dl", "table", "thead", "tbody",
        "section", "article", "header", "footer", "aside", "nav", "main", "figure",
        "figcaption", "address", "hr", "pre", "caption",
    }
)  # fmt: skip
_PARAGRAPHS = frozenset({"p", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6"})
_CELLS = frozenset({"td", "th"})


def _build_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for code in (*range(0x20), 0x7F):
        table[code] = None
    for code in (0x09, 0x0B, 0x0C):
        table[code] = " "
    table[0x0A] = table[0x0D] = "\n"
    # C1 controls in text almost always come from windows-1252 bytes decoded as
    # latin-1 (feeds that mislabel their encoding); browsers read them as 1252 too.
    for code in range(0x80, 0xA0):
        try:
            table[code] = bytes([code]).decode("cp1252")
        except UnicodeDecodeError:
            table[code] = None
    for code in (0x00A0, 0x2007, 0x202F):
        table[code] = " "
    for code in (0x2028, 0x2029):
        table[code] = "\n"
    # Invisible characters that only get in the way in a chat message. ZWJ
    # (U+200D) and variation selectors stay: emoji sequences are made of them.
    for code in (0x00AD, 0x180E, 0x200B, 0x200E, 0x200F, 0x2060, 0xFEFF, 0xFFFE, 0xFFFF):
        table[code] = None
    for code in [*range(0x202A, 0x202F), *range(0x2066, 0x206A), *range(0xFFF9, 0xFFFC)]:
        table[code] = None
    for code in range(0xD800, 0xE000):  # lone surrogates cannot be encoded to UTF-8
        table[code] = None
    return table


def _char_class(codes: list[int]) -> str:
    ranges: list[list[int]] = []
    for code in sorted(codes):
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "[" + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges) + "]"


_TABLE = _build_table()
# Most text needs no translation at all, and finding that out with a regex is
# an order of magnitude cheaper than str.translate with a dict.
_NEEDS_TABLE = re.compile(_char_class([code for code, to in _TABLE.items() if to != chr(code)]))
_SPACES = re.compile(r"[^\S\n]+")
_SPACE_AROUND_NEWLINE = re.compile(r" ?\n ?")
_BLANK_LINES = re.compile(r"\n{3,}")
_ANY_SPACE = re.compile(r"\s+")
_ANY_TAG = re.compile(r"<[^>]*>?")


def clean_text(text: str) -> str:
    """Tidy plain text: drop control and invisible characters, collapse spaces.

    Line breaks survive (at most one blank line in a row) so paragraphs stay apart.
    """
    text = _SPACES.sub(" ", _translate(text.replace("\r\n", "\n")))
    if "\n" in text:
        text = _BLANK_LINES.sub("\n\n", _SPACE_AROUND_NEWLINE.sub("\n", text))
    return text.strip()


def clean_title(title: str, *, html: bool = False) -> str:
    """One line of tidy text for a title; `html=True` when the title may carry markup."""
    text = html_to_text(title) if html else _translate(title)
    return _ANY_SPACE.sub(" ", text).strip()


def clip(text: str, limit: int) -> str:
    """At most `limit` characters: cut at the last space or line break before the
    limit (unless that loses more than half), ending in an ellipsis. Line breaks
    are kept, unlike a display truncation, since this is what gets stored."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" \n,.;:-") + "…"


def _translate(text: str) -> str:
    return text.translate(_TABLE) if _NEEDS_TABLE.search(text) else text


def html_to_text(fragment: str) -> str:
    """Readable plain text from an HTML fragment, without any markup or scripts.

    Block elements become line breaks, paragraphs blank lines and list items
    bullets; entities are decoded. The stdlib parser is forgiving, so broken
    markup still yields the text around it.
    """
    if "<" not in fragment and "&" not in fragment:
        return clean_title(fragment)
    parser = _TextExtractor()
    try:
        parser.feed(fragment)
        parser.close()
    except Exception:  # defensive: the parser should not raise, but text must not be lost
        return clean_text(_ANY_TAG.sub(" ", fragment))
    return clean_text("".join(parser.parts))


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping: list[str] = []
        self._pre = 0
        self._pending_breaks = 0  # line breaks owed before the next visible text

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping.append(tag)
        elif not self._skipping:
            self._boundary(tag, opening=True)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # `<script/>` opens nothing, so it must not start skipping.
        if tag not in _SKIPPED and not self._skipping:
            self._boundary(tag, opening=True)

    def handle_endtag(self, tag: str) -> None:
        if self._skipping:
            if tag in self._skipping:
                del self._skipping[self._skipping.index(tag) :]
        else:
            self._boundary(tag, opening=False)

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if not self._pre:
            # Source line breaks are just spaces in HTML, except inside <pre>.
            data = _ANY_SPACE.sub(" ", data)
        if self._pending_breaks and data.isspace():
            return
        self._emit(data)

    def unknown_decl(self, data: str) -> None:
        if data.startswith("CDATA["):
            self.handle_data(data[6:])

    def _boundary(self, tag: str, *, opening: bool) -> None:
        if tag == "pre":
            self._pre = self._pre + 1 if opening else max(self._pre - 1, 0)
        if tag in _PARAGRAPHS:
            self._pending_breaks = 2
        elif tag == "br":  # `<br><br>` is how many feeds separate paragraphs
            self._pending_breaks = min(self._pending_breaks + 1, 2)
        elif tag in _LINE_BREAKS:
            self._pending_breaks = max(self._pending_breaks, 1)
            if tag == "li" and opening:
                self._emit("• ")
        elif tag in _CELLS:
            self._emit(" ")

    def _emit(self, text: str) -> None:
        if self._pending_breaks:
            if self.parts:
                self.parts.append("\n" * self._pending_breaks)
            self._pending_breaks = 0
        self.parts.append(text)
