"""Digests: when each target gets one, what goes in it, and how it is queued.

`schedule`, `select` and `compose` are pure; `dispatch` ties them to the
store and the outbox; `jobs` runs dispatch and feed polling every minute.
"""
