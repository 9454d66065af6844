"""Errors every floor may raise and catch.

A source (a feed, a listing, the topic catalogue) that cannot be read is the
same failure to the person who named it, wherever it is read: one line that
says what is wrong.
"""

from __future__ import annotations


class SourceError(Exception):
    """A source could not be read or understood; the message is one line for a person."""
