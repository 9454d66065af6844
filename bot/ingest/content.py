"""The whole article, when a feed carries it (`content:encoded`, Atom `content`).

It is kept as HTML for reading inside the chat, so it is sanitised here, once,
by nh3 (the Python binding of the Rust sanitiser ammonia, an HTML5 parser
underneath): only structure and emphasis survive (headings, paragraphs, lists,
quotes, links, images, tables), scripts, styles, forms and embedded frames go
with their content, comments and event attributes go, links and images keep
absolute http(s) URLs only (relative ones resolved against the article's link),
and images are held to the lead image's rules (`images.image`): tracking
pixels, SVG and images on private addresses are removed.

Sizes are bounded twice: the raw HTML is cut at RAW_CHARS before the
sanitiser sees it (a 5 MB article costs no more than a 1 MB one), and the
sanitised result at MAX_BYTES of UTF-8, at the last closing block tag before
the limit, re-sanitised so the cut leaves well-formed HTML; the article is then
marked truncated, so whoever shows it can point to the original.
"""

from __future__ import annotations

import html
import re
from typing import Final
from urllib.parse import urljoin, urlsplit

from bot.ingest.images import image, image_url
from bot.store.articles import FullContent

__all__ = ["MAX_BYTES", "RAW_CHARS", "full_content", "sanitise"]

MAX_BYTES: Final = 256 * 1024
"""UTF-8 bytes of sanitised HTML kept per article: a long feature is 50-100 kB."""
RAW_CHARS: Final = 1024 * 1024
"""Characters of a source's HTML handed to the sanitiser; the rest is never read."""

TAGS: Final = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del",
        "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5",
        "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s",
        "section", "small", "strike", "strong", "sub", "sup", "table", "tbody", "td",
        "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
DROPPED_WITH_CONTENT: Final = frozenset(
    {
        "script", "style", "noscript", "template", "iframe", "object", "embed", "svg",
        "math", "form", "button", "select", "textarea", "title", "head", "audio", "video",
        "canvas",
    }
)  # fmt: skip
ATTRIBUTES: Final = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
_IMG = re.compile(r"<img\b[^>]*>")
_ATTRIBUTE = re.compile(r'([a-z]+)="([^"]*)"')
_BLOCK_END = re.compile(r"</(?:p|li|ul|ol|dl|blockquote|h[1-6]|pre|table|figure|div|section)>")
_SPACE = re.compile(r"\s+")


def sanitise(fragment: str, *, base: str | None) -> FullContent | None:
    """Safe, bounded HTML from a source's fragment; None when no text is left."""
    import nh3

    def attribute(tag: str, name: str, value: str) -> str | None:
        if name == "src":
            return image_url(value, base)
        if name == "href":
            return _absolute(value, base)
        if name in ("width", "height", "start", "colspan", "rowspan"):
            return value if value.isdigit() and len(value) <= 6 else None
        return value

    def clean(text: str) -> str:
        return nh3.clean(
            text,
            tags=set(TAGS),
            clean_content_tags=set(DROPPED_WITH_CONTENT),
            attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
            attribute_filter=attribute,
            url_schemes={"http", "https", "mailto"},
            link_rel=None,
            strip_comments=True,
        )

    truncated = len(fragment) > RAW_CHARS
    cleaned = _IMG.sub(_usable_image, clean(fragment[:RAW_CHARS])).strip()
    encoded = cleaned.encode("utf-8")
    if len(encoded) > MAX_BYTES:
        # Room for the closing tags the second pass adds.
        prefix = encoded[: MAX_BYTES - 1024].decode("utf-8", "ignore")
        ends = [match.end() for match in _BLOCK_END.finditer(prefix)]
        cut = ends[-1] if ends else prefix.rfind("<")
        cleaned = clean(prefix[:cut] if cut > 0 else prefix).strip()
        truncated = True
    if not cleaned or not _has_text(cleaned):
        return None
    return FullContent(html=cleaned, truncated=truncated)


def full_content(
    fragment: str,
    *,
    plain: bool,
    base: str | None,
    summary: str,
    summary_is_content: bool,
    summary_limit: int,
) -> FullContent | None:
    """The article's full content worth keeping beside its summary, or None.

    `summary` is the text it will be stored with, before it is clipped to
    `summary_limit`; `summary_is_content` when the feed had no summary of its
    own and that text is the fragment's. A feed that carries only a summary gets
    no full text: content whose text is no longer than the summary's (the same
    words again), or that is the summary and short enough to be stored whole,
    adds nothing."""
    if summary_is_content and len(summary) <= summary_limit:
        return None
    if plain:
        fragment = "".join(
            f"<p>{html.escape(paragraph.strip())}</p>"
            for paragraph in fragment[:RAW_CHARS].split("\n\n")
            if paragraph.strip()
        )
    kept = sanitise(fragment, base=base)
    if kept is None or summary_is_content or kept.truncated:
        return kept
    return kept if len(_text_of(kept.html)) > len(_words(summary)) else None


def _words(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _usable_image(match: re.Match[str]) -> str:
    """An `<img>` of nh3's output (attributes double-quoted, escaped) kept only
    when it is an image to show: without one, `src` was refused or missing."""
    values = {name: html.unescape(value) for name, value in _ATTRIBUTE.findall(match.group(0))}
    found = image(values.get("src"), values.get("width"), values.get("height"))
    return match.group(0) if found else ""


def _has_text(fragment: str) -> bool:
    return bool(_SPACE.sub("", re.sub(r"<[^>]*>", "", fragment)))


def _text_of(sanitised: str) -> str:
    """The words of sanitised HTML, to measure against a summary: nh3 strips
    the tags far faster than a Python parser would."""
    import nh3

    return _words(html.unescape(nh3.clean(sanitised, tags=set(), clean_content_tags=set())))


def _absolute(value: str, base: str | None) -> str | None:
    try:
        url = urljoin(base, value.strip()) if base else value.strip()
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https", "mailto") else None
