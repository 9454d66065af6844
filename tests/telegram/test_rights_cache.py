"""The admin-rights cache: answers live for their TTL, and the table stays bounded."""

from __future__ import annotations

from bot.services import RightsCache


def test_an_answer_lives_for_its_ttl() -> None:
    cache = RightsCache(ttl=60, size=10)
    assert cache.get(-100, 7, now=1000) is None
    cache.put(-100, 7, False, now=1000)
    cache.put(-100, 8, True, now=1000)
    assert cache.get(-100, 7, now=1059.9) is False
    assert cache.get(-100, 8, now=1059.9) is True
    assert cache.get(-200, 7, now=1000) is None  # per chat
    assert cache.get(-100, 7, now=1060) is None
    assert len(cache) == 1  # the stale answer went


def test_the_oldest_answers_make_room() -> None:
    cache = RightsCache(ttl=60, size=3)
    for user in range(5):
        cache.put(-100, user, True, now=1000 + user)
    assert len(cache) == 3
    assert [cache.get(-100, user, now=1005) for user in range(5)] == [None, None, True, True, True]
    cache.put(-100, 2, False, now=1006)  # asked again: now the newest
    cache.put(-100, 9, True, now=1007)
    assert cache.get(-100, 3, now=1007) is None
    assert cache.get(-100, 2, now=1007) is False
