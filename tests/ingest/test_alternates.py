"""Pairs from what the sources say: hreflang alternates (Atom, RSS with
atom:link and xhtml:link), /en/ ↔ /es/ addresses, a listing's Translation:
header; stored through the real ingest on a real SQLite file, in both orders,
and the hostile cases bounded."""

from __future__ import annotations

import pytest

from bot.ingest.alternates import MAX_CLAIMS, claims, pair_by_links, swapped_language_url
from bot.ingest.entry import Alternate, Entry
from bot.ingest.listing import parse_listing
from bot.ingest.parse import parse_feed
from bot.ingest.pipeline import MAX_URL_CHARS, ingest
from bot.store import translation_claims, translations
from bot.store.db import Database
from bot.topics import Catalogue

T = 1_764_000_000

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title>Both languages</title>
  <entry>
    <title>Death of Migrants in Ciudad Juarez</title>
    <id>urn:story:1:en</id>
    <link rel="alternate" type="text/html" href="https://pub.example/stories/juarez"/>
    <link rel="alternate" hreflang="es" href="https://pub.example/historias/juarez"/>
    <link rel="alternate" hreflang="fr" href="https://pub.example/fr/juarez"/>
    <link rel="alternate" hreflang="x-default" href="https://pub.example/juarez"/>
    <summary>Forty migrants died in a fire at a detention centre.</summary>
  </entry>
</feed>"""

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"
     xmlns:xhtml="http://www.w3.org/1999/xhtml">
  <channel>
    <title>WordPress, two languages</title>
    <item>
      <title>La muerte de migrantes en Chihuahua</title>
      <link>https://pub.example/historias/juarez</link>
      <atom:link rel="alternate" hreflang="en-US" href="https://pub.example/stories/juarez"/>
      <description>Cuarenta migrantes murieron en un incendio.</description>
    </item>
    <item>
      <title>Ni una menos</title>
      <link>https://pub.example/historias/ni-una-menos</link>
      <xhtml:link rel="alternate" hreflang="en" href="https://pub.example/stories/not-one-less"/>
      <description>Marcha contra los feminicidios.</description>
    </item>
  </channel>
</rss>"""


def _feed(title: str, url: str, *, language: str, alternate: str | None = None) -> bytes:
    link = (
        f'<link rel="alternate" hreflang="{"es" if language == "en" else "en"}"'
        f' href="{alternate}"/>'
        if alternate
        else ""
    )
    return (
        f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{language}">'
        f"<title>t</title><entry><title>{title}</title><id>{url}</id>"
        f'<link rel="alternate" href="{url}"/>{link}<summary>{title}</summary></entry></feed>'
    ).encode()


async def _ingest(db: Database, catalogue: Catalogue, body: bytes, source: str) -> list[int]:
    parsed = parse_feed(body)
    report = await ingest(
        db,
        parsed.entries,
        source=source,
        catalogue=catalogue,
        now=T,
        language_override=parsed.language,
    )
    return list(report.new_ids)


async def _partner(db: Database, article_id: int) -> int | None:
    found = await translations.partners(db, [article_id])
    return found[article_id].id if article_id in found else None


# -- parsing -------------------------------------------------------------------


def test_atom_hreflang_alternates_keep_the_article_own_link() -> None:
    (entry,) = parse_feed(ATOM).entries
    # feedparser's `link` is the last alternate (here the x-default one); the
    # article's own is the one without hreflang.
    assert entry.url == "https://pub.example/stories/juarez"
    # Only the publication's languages: French and x-default are not claims.
    assert entry.alternates == (
        Alternate(url="https://pub.example/historias/juarez", language="es"),
    )


def test_rss_items_carry_atom_link_and_xhtml_link_alternates() -> None:
    first, second = parse_feed(RSS).entries
    assert first.url == "https://pub.example/historias/juarez"
    assert first.alternates == (Alternate(url="https://pub.example/stories/juarez", language="en"),)
    assert second.url == "https://pub.example/historias/ni-una-menos"
    assert second.alternates == (
        Alternate(url="https://pub.example/stories/not-one-less", language="en"),
    )


def test_a_feed_without_hreflang_links_as_before() -> None:
    (entry,) = parse_feed(
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
        b"<title>A</title><link>https://pub.example/en/a</link></item></channel></rss>"
    ).entries
    assert (entry.url, entry.alternates) == ("https://pub.example/en/a", ())


def test_a_feed_cannot_make_an_entry_claim_without_bound() -> None:
    links = "".join(
        f'<link rel="alternate" hreflang="es" href="https://pub.example/es/{n}"/>'
        for n in range(500)
    )
    body = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        f'<entry><title>A</title><link rel="alternate" href="https://pub.example/en/a"/>{links}'
        "</entry></feed>"
    ).encode()
    (entry,) = parse_feed(body).entries
    assert entry.url == "https://pub.example/en/a"
    assert len(entry.alternates) == MAX_CLAIMS


def test_listing_translation_header_by_url_and_by_id() -> None:
    first, second, third, fourth = parse_listing(
        "Death of Migrants in Ciudad Juárez\n"
        "ID: juarez-en\n"
        "Translation: https://pub.example/es/la-muerte-de-migrantes\n"
        "\n"
        "Forty migrants died.\n"
        "\n"
        "La muerte de migrantes en Chihuahua\n"
        "ID: juarez-es\n"
        "Traducción: ID: juarez-en\n"
        "\n"
        "Cuarenta migrantes murieron.\n"
        "\n"
        "Not a translation\n"
        "translation: ftp://pub.example/a\n"
        "\n"
        "Text.\n"
        "\n"
        "Traduccion: no header without a title\n"
        "TRADUCCIÓN: guid:x-1\n"
        "\n"
        "Texto.\n"
    )
    assert first.alternates == (Alternate(url="https://pub.example/es/la-muerte-de-migrantes"),)
    assert second.alternates == (Alternate(guid="juarez-en"),)
    assert third.alternates == ()  # not an http(s) address: ignored (and logged)
    assert fourth.title == "Traduccion: no header without a title"
    assert fourth.alternates == (Alternate(guid="x-1"),)


@pytest.mark.parametrize(
    ("url", "language", "swapped"),
    [
        ("https://pub.example/en/2024/story", "en", ["https://pub.example/es/2024/story"]),
        ("https://pub.example/ES/historia?x=1", "es", ["https://pub.example/en/historia?x=1"]),
        ("https://pub.example/blog/en/story", "en", ["https://pub.example/blog/es/story"]),
        # The segment says English but the article is Spanish: no guess.
        ("https://pub.example/en/historia", "es", []),
        ("https://pub.example/en-us/story", "en", []),
        ("https://pub.example/english/story", "en", []),
        ("https://pub.example/story", "en", []),
        (None, "en", []),
    ],
)
def test_language_segment_swaps(url: str | None, language: str, swapped: list[str]) -> None:
    assert swapped_language_url(url, language) == swapped


def test_claims_keep_the_other_language_only_and_never_the_article_itself() -> None:
    def bound(guid: str) -> str:
        return guid

    found = claims(
        (
            Alternate(url="https://pub.example/en/a", language="es"),  # itself
            Alternate(url="https://pub.example/x/a", language="en"),  # its own language
            Alternate(url="https://pub.example/" + "x" * MAX_URL_CHARS, language="es"),
            Alternate(url="javascript:alert(1)", language="es"),
            Alternate(guid="g-a"),  # its own id
            Alternate(guid="g-b"),
        ),
        url="https://pub.example/en/a",
        guid="g-a",
        language="en",
        max_url_chars=MAX_URL_CHARS,
        bound_guid=bound,
    )
    assert found == (("guid", "g-b"), ("url", "https://pub.example/es/a"))


# -- ingest end to end -----------------------------------------------------------


@pytest.mark.parametrize("english_first", [True, False])
async def test_the_second_arrival_completes_the_pair(
    db: Database, catalogue: Catalogue, english_first: bool
) -> None:
    english = _feed(
        "Death of Migrants in Ciudad Juarez",
        "https://pub.example/stories/juarez",
        language="en",
        alternate="https://pub.example/historias/juarez",
    )
    spanish = _feed(
        "La muerte de migrantes en Chihuahua", "https://pub.example/historias/juarez", language="es"
    )
    order = [(english, "en-feed"), (spanish, "es-feed")]
    if not english_first:
        order.reverse()
    (first,) = await _ingest(db, catalogue, *order[0])
    assert await _partner(db, first) is None  # the claim waits, harmless
    (second,) = await _ingest(db, catalogue, *order[1])
    assert await _partner(db, first) == second
    assert await _partner(db, second) == first
    assert [p.how for p in await translations.pairs(db)] == ["explicit"]


async def test_rss_alternates_pair_with_atom_articles(db: Database, catalogue: Catalogue) -> None:
    (english,) = await _ingest(db, catalogue, ATOM, "atom")
    spanish, other = await _ingest(db, catalogue, RSS, "rss")
    assert await _partner(db, english) == spanish
    assert await _partner(db, other) is None


async def test_language_segments_pair_without_any_link(db: Database, catalogue: Catalogue) -> None:
    (es,) = await _ingest(
        db, catalogue, _feed("Muerte de migrantes", "https://pub.example/es/m", language="es"), "a"
    )
    (en,) = await _ingest(
        db, catalogue, _feed("Death of migrants", "https://pub.example/en/m", language="en"), "b"
    )
    assert await _partner(db, en) == es


async def test_a_listing_pairs_by_id_within_itself_and_by_url(
    db: Database, catalogue: Catalogue
) -> None:
    listing = parse_listing(
        "Femicides in Mexico: Justice for Alexis!\n"
        "Language: en\n"
        "ID: alexis-en\n"
        "\n"
        "A march for justice.\n"
        "\n"
        "¡Justicia para Alexis!\n"
        "Language: es\n"
        "ID: alexis-es\n"
        "Translation: ID: alexis-en\n"
        "\n"
        "Una marcha por justicia.\n"
        "\n"
        "La muerte de migrantes\n"
        "Language: es\n"
        "URL: https://pub.example/historias/muerte\n"
        "Traducción: https://pub.example/stories/death\n"
        "\n"
        "Cuarenta migrantes.\n"
    )
    en, es, muerte = (await ingest(db, listing, source="l.txt", catalogue=catalogue, now=T)).new_ids
    assert await _partner(db, en) == es
    # The same ID in another source is another article: no pair.
    (stranger,) = (
        await ingest(
            db,
            [
                Entry(
                    title="Otra", guid="x", language="es", alternates=(Alternate(guid="alexis-en"),)
                )
            ],
            source="other.txt",
            catalogue=catalogue,
            now=T,
        )
    ).new_ids
    assert await _partner(db, stranger) is None
    (death,) = (
        await ingest(
            db,
            [Entry(title="Death", url="https://pub.example/stories/death", language="en")],
            source="feed",
            catalogue=catalogue,
            now=T,
        )
    ).new_ids
    assert await _partner(db, death) == muerte


# -- bad input ----------------------------------------------------------------------


async def test_an_article_claiming_to_be_its_own_translation(
    db: Database, catalogue: Catalogue
) -> None:
    entry = Entry(
        title="Alone",
        url="https://pub.example/stories/alone",
        guid="alone",
        language="en",
        alternates=(
            Alternate(url="https://pub.example/stories/alone", language="es"),
            Alternate(guid="alone"),
        ),
    )
    (alone,) = (await ingest(db, [entry], source="s", catalogue=catalogue, now=T)).new_ids
    assert await translation_claims.of_article(db, alone) == []
    assert await translations.count(db) == 0


async def test_a_chain_keeps_the_first_pair(db: Database, catalogue: Catalogue) -> None:
    a = Entry(title="A", url="https://pub.example/a", language="en")
    b = Entry(
        title="B",
        url="https://pub.example/b",
        language="es",
        alternates=(Alternate(url="https://pub.example/a", language="en"),),
    )
    ids = (await ingest(db, [a, b], source="s", catalogue=catalogue, now=T)).new_ids
    a_id, b_id = ids
    assert await _partner(db, a_id) == b_id
    c = Entry(
        title="C",
        url="https://pub.example/c",
        language="en",
        alternates=(Alternate(url="https://pub.example/b", language="es"),),
    )
    (c_id,) = (await ingest(db, [c], source="s", catalogue=catalogue, now=T)).new_ids
    assert await _partner(db, b_id) == a_id
    assert await _partner(db, c_id) is None
    assert await translations.count(db) == 1


async def test_a_claim_in_the_same_language_pairs_nothing(
    db: Database, catalogue: Catalogue
) -> None:
    a = Entry(title="A", url="https://pub.example/a", language="en")
    # A listing's Translation: carries no language; the target's decides.
    b = Entry(
        title="B", url="https://pub.example/b", language="en", alternates=(Alternate(url=a.url),)
    )
    await ingest(db, [a, b], source="s", catalogue=catalogue, now=T)
    assert await translations.count(db) == 0


async def test_a_claim_to_an_unknown_address_is_kept_and_harmless(
    db: Database, catalogue: Catalogue
) -> None:
    entry = Entry(
        title="A",
        url="https://pub.example/a",
        language="en",
        alternates=(Alternate(url="https://elsewhere.example/nothing", language="es"),),
    )
    (a,) = (await ingest(db, [entry], source="s", catalogue=catalogue, now=T)).new_ids
    assert await translations.count(db) == 0
    assert await translation_claims.of_article(db, a) == [
        ("url", "https://elsewhere.example/nothing")
    ]


@pytest.mark.parametrize("target_first", [True, False])
async def test_a_thousand_articles_claiming_one_alternate(
    db: Database, catalogue: Catalogue, target_first: bool
) -> None:
    target = Entry(title="Objetivo", url="https://pub.example/es/target", language="es")
    claimers = [
        Entry(
            title=f"Claimer {n}",
            summary=f"Copy number {n}",
            url=f"https://pub.example/copies/{n}",
            language="en",
            alternates=(Alternate(url=target.url, language="es"),),
        )
        for n in range(1_000)
    ]
    if target_first:
        (target_id,) = (await ingest(db, [target], source="t", catalogue=catalogue, now=T)).new_ids
        claimer_ids = (await ingest(db, claimers, source="c", catalogue=catalogue, now=T)).new_ids
    else:
        claimer_ids = (await ingest(db, claimers, source="c", catalogue=catalogue, now=T)).new_ids
        (target_id,) = (await ingest(db, [target], source="t", catalogue=catalogue, now=T)).new_ids
    assert len(claimer_ids) == 1_000
    assert await translations.count(db) == 1
    # First come, first served: the oldest claimer.
    assert await _partner(db, target_id) == min(claimer_ids)
    # The target arriving after them tries a few claimers, not a thousand.
    found = await translation_claims.claimed(db, [target_id], per_article=4)
    assert len(found) <= 4


async def test_links_never_undo_a_veto(db: Database, catalogue: Catalogue) -> None:
    en = _feed("Story", "https://pub.example/en/s", language="en")
    es = _feed("Historia", "https://pub.example/es/s", language="es")
    (en_id,) = await _ingest(db, catalogue, en, "en")
    (es_id,) = await _ingest(db, catalogue, es, "es")
    assert await _partner(db, en_id) == es_id
    await translations.unlink(db, en_id, now=T)
    assert await pair_by_links(db, [en_id, es_id], now=T + 1) == 0
    assert await _partner(db, en_id) is None


async def test_a_source_link_replaces_the_text_guess(db: Database, catalogue: Catalogue) -> None:
    en = Entry(title="Story", url="https://pub.example/story", language="en")
    guess = Entry(title="Otra historia", url="https://pub.example/otra", language="es")
    en_id, guess_id = (
        await ingest(db, [en, guess], source="s", catalogue=catalogue, now=T)
    ).new_ids
    await translations.link(db, en_id, guess_id, how="text", score=0.9, now=T)
    right = Entry(
        title="Historia",
        url="https://pub.example/historia",
        language="es",
        alternates=(Alternate(url=en.url, language="en"),),
    )
    (right_id,) = (await ingest(db, [right], source="s", catalogue=catalogue, now=T)).new_ids
    assert await _partner(db, en_id) == right_id
    assert await _partner(db, guess_id) is None
