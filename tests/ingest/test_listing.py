"""The editors' listing format: the real sample, the header extension, and sloppy files."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import DATA_DIR
from bot.ingest.entry import Entry, Image, SourceError
from bot.ingest.listing import parse_listing, read_listing
from bot.ingest.text import clean_title

SAMPLE = DATA_DIR / "articles.txt"

SAMPLE_ENTRIES = [
    (
        "Against “Neoliberalism” or Capitalism? The Final Year of AMLO’s Government in Mexico",
        "The government of Andrés Manuel López Obrador is approaching its final year. In order to"
        " substantially improve the living conditions of the Mexican masses, it is necessary to"
        " upend the balance of power in society.",
    ),
    (
        "La muerte de Migrantes en Chihuahua: El culpable es el capitalismo y sus representantes",
        "En un centro de detención migratoria del Instituto Nacional de Migración (INM) en Ciudad"
        " Juárez, Chihuahua, se registró una catástrofe humanitaria, en la que hubo decesos. Al"
        " momento de escribir este artículo se habla de […]",
    ),
    (
        "Death of Migrants in Ciudad Juárez, Mexico: Capitalism and Its Representatives to Blame",
        "On March 27, a humanitarian catastrophe occurred at a migration detention center in"
        " Ciudad Juárez, which resulted in around 40 deaths and more than 20 people being left in"
        " critical condition.",
    ),
    (
        "AMLO’s March on 27N: Huge Demonstration of the Mexican People’s Strength",
        "1.2 million people flooded the streets of Mexico City in response to Andrés Manuel López"
        " Obrador’s call for a march. It was a powerful show of strength by the Mexican people.",
    ),
    (
        "Momentum Continues with #CommunismOnCampus Campaign!",
        "All around the world students are enthusiastically engaging with the revolutionary ideas"
        " of Marxism! 2022 is shaping up to be the IMT’s biggest ever mobilization among students.",
    ),
    (
        "Summit of the Americas Showcases Defiance of US Domination",
        "The Summit of the Americas held in Los Angeles on June 6–10 was a compete disaster and"
        " showed the decreasing ability of the US to dominate its own backyard.",
    ),
    (
        "Mexican Marxists Discuss the Tasks of Revolution at Their 21st Congress!",
        "On May 21 and 22, the Socialist Left (the Mexican section of the IMT) held their congress"
        " in Mexico City to discuss the tasks ahead for Mexico’s Marxists.",
    ),
    (
        "500 Years After the Fall of Mexico-Tenochtitlán: A Marxist Perspective",
        "500 years ago the Spanish invaders captured the last Aztec ruler, marking the fall of"
        " Mexico-Tenochtitlán. This was one of the starting points of capitalist globalization.",
    ),
    (
        "Criminalization of Abortion Declared Unconstitutional in Mexico",
        "The struggle in the streets made it impossible for women’s rights to be ignored any"
        " longer. Without it, decriminalization never would have happened.",
    ),
    (
        "[Video] ¡Ni Una Menos! The Struggle Against Femicides in Mexico",
        "Our Mexican comrade Karen Campos (organizer with La Izquierda Socialista) speaks at our"
        " online Marxist School on the struggle against femicides and gender violence in Mexico.",
    ),
    (
        "Femicides in Mexico: Justice for Alexis!",
        "Last week, 20-year-old Alexis went missing in Cancún. On Sunday, her dead mutilated body"
        " was found in plastic bags. Thousands of youths are taking to the streets to protest"
        " against this brutal murder.",
    ),
    (
        "[Video] Villa, Zapata, and the Mexican Revolution",
        "Socialist Revolution editor John Peterson gives an account of the lives of Pancho Villa,"
        " Emiliano Zapata, and their role in the extraordinary events of the Mexican Revolution.",
    ),
]


def test_the_real_sample_reads_exactly() -> None:
    entries = read_listing(SAMPLE)

    assert [(entry.title, entry.summary) for entry in entries] == SAMPLE_ENTRIES
    assert all(entry == Entry(entry.title, entry.summary) for entry in entries)


def test_header_lines_under_a_title() -> None:
    text = (
        "La muerte de Migrantes en Chihuahua\n"
        "URL: https://example.org/es/muerte\n"
        "date: 2023-03-29\n"
        "Language: es-MX\n"
        "Topics: migration, Mexico; history, migration\n"
        "ID: article-1842\n"
        "\n"
        "En un centro de detención migratoria...\n"
    )

    assert parse_listing(text) == [
        Entry(
            title="La muerte de Migrantes en Chihuahua",
            summary="En un centro de detención migratoria...",
            url="https://example.org/es/muerte",
            guid="article-1842",
            published_at=int(datetime(2023, 3, 29, tzinfo=UTC).timestamp()),
            language="es",
            categories=("migration", "Mexico", "history"),
        )
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-30", datetime(2024, 3, 30, tzinfo=UTC)),
        ("2024-03-30 14:05", datetime(2024, 3, 30, 14, 5, tzinfo=UTC)),
        ("2024-03-30T14:05:00-06:00", datetime(2024, 3, 30, 20, 5, tzinfo=UTC)),
        ("2024-03-30T14:05:00Z", datetime(2024, 3, 30, 14, 5, tzinfo=UTC)),
    ],
)
def test_dates(value: str, expected: datetime) -> None:
    (entry,) = parse_listing(f"Title\nDate: {value}\n\nSummary")

    assert entry.published_at == int(expected.timestamp())


def test_spanish_header_names() -> None:
    (entry,) = parse_listing(
        "Título\nEnlace: http://example.org/a\nFecha: 2024-01-02\nIdioma: español\n"
        "Temas: historia\n\nResumen"
    )

    assert entry.url == "http://example.org/a"
    assert entry.published_at == int(datetime(2024, 1, 2, tzinfo=UTC).timestamp())
    assert entry.language == "es"
    assert entry.categories == ("historia",)


def test_bad_header_values_are_ignored_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.ingest.listing")

    (entry,) = parse_listing(
        "Title\nURL: javascript:alert(1)\nDate: last tuesday\nLanguage: fr\n\nSummary"
    )

    assert entry == Entry(title="Title", summary="Summary")
    assert len(caplog.records) == 3


def test_an_image_header(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.ingest.listing")

    whole, relative, imagen, *refused = parse_listing(
        "One\nImage: https://cdn.example.org/one.jpg\n\nS\n\n"
        "Two\nURL: https://example.org/es/two/\nImage: ../img/two.png\n\nS\n\n"
        "Tres\nImagen: https://cdn.example.org/tres.webp\n\nS\n\n"
        "Four\nImage: http://localhost/four.jpg\n\nS\n\n"
        "Five\nImage: http://10.0.0.1/five.jpg\n\nS\n\n"
        "Six\nImage: https://cdn.example.org/six.svg\n\nS\n\n"
        "Seven\nImage: data:image/gif;base64,R0lGODlhAQABAAAAACw=\n\nS\n\n"
        "Eight\nImage: img/eight.jpg\n\nS\n"
    )

    assert whole.image == Image("https://cdn.example.org/one.jpg")
    assert relative.image == Image("https://example.org/es/img/two.png")
    assert imagen.image == Image("https://cdn.example.org/tres.webp")
    assert [entry.image for entry in refused] == [None] * 5  # Eight: relative to nothing
    assert len(caplog.records) == 5


def test_headers_only_count_under_a_title() -> None:
    # In the original format a summary may start with anything, "Date:" included.
    (entry,) = parse_listing("Title\n\nDate: 2024-03-30 was the day it happened.")

    assert entry == Entry(title="Title", summary="Date: 2024-03-30 was the day it happened.")


def test_a_forgotten_blank_line_after_the_title() -> None:
    entries = parse_listing("First\nNote: summary without blank line\n\nSecond\n\nIts summary")

    assert entries == [
        Entry(title="First", summary="Note: summary without blank line"),
        Entry(title="Second", summary="Its summary"),
    ]


def test_sloppy_files() -> None:
    text = (
        "\ufeff\r\n\r\n  First title  \r\n\r\n\r\n\r\nFirst summary,\r\nwrapped.   \r\n"
        " \t \r\n\r\nSecond title\r\n\r\nSecond summary\r\n\r\n\r\nLast title without summary  "
    )

    assert parse_listing(text) == [
        Entry(title="First title", summary="First summary, wrapped."),
        Entry(title="Second title", summary="Second summary"),
        Entry(title="Last title without summary", summary=""),
    ]


@pytest.mark.parametrize("text", ["", "\n\n\n", "\ufeff", " \t\r\n \u200b\n"])
def test_nothing_in_nothing_out(text: str) -> None:
    assert parse_listing(text) == []


def test_invisible_junk_is_removed() -> None:
    (entry,) = parse_listing("Ti\u200btle\x07\n\nSum\u00admary 🇲🇽")

    assert entry == Entry(title="Title", summary="Summary 🇲🇽")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"])
def test_file_encodings(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "listing.txt"
    path.write_bytes("Año “nuevo”\r\n\r\nSeñales de lucha\r\n".encode(encoding, "replace"))

    (entry,) = read_listing(path)

    assert entry.summary == "Señales de lucha"
    if encoding != "latin-1":  # latin-1 has no curly quotes
        assert entry.title == "Año “nuevo”"


def test_bytes_cp1252_lacks_fall_back_to_latin1(tmp_path: Path) -> None:
    path = tmp_path / "listing.txt"
    path.write_bytes(b"Caf\xe9 \x81\x8d\n\nText")  # undefined in cp1252: falls back to latin-1

    assert read_listing(path) == [Entry(title="Café", summary="Text")]


def test_a_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "photo.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

    with pytest.raises(SourceError, match=r"^listing photo\.txt is not a text file$"):
        read_listing(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"^listing nowhere\.txt does not exist$"):
        read_listing(tmp_path / "nowhere.txt")


def test_a_folder_is_not_a_listing(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is a folder"):
        read_listing(tmp_path)


_line = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40).map(clean_title)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_parses(text: str) -> None:
    for entry in parse_listing(text):
        assert entry.title
        assert entry.title == entry.title.strip()
        assert "\n" not in entry.title + entry.summary


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_line, _line).filter(lambda pair: all(pair)), max_size=8))
def test_written_listings_read_back(pairs: list[tuple[str, str]]) -> None:
    text = "\n\n".join(f"{title}\n\n{summary}" for title, summary in pairs)

    assert parse_listing(text) == [Entry(title, summary) for title, summary in pairs]
