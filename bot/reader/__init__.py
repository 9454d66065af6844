"""The reader's rules, Telegram-free: what a chat follows and how it is set up.

What `/subscribe`, `/unsubscribe`, `/mysubs` and `/settings <field> <value>`
decide lives here — which topic or keywords a typed name means, the cap on
subscriptions, what `all` removes, which setting a value changes — so the
handlers of a chat and those an admin uses for a channel only find the target,
call one function and reply. The answers are HTML in the target's language, as
`bot.admin` writes its own; keyboards stay in the Telegram adapter.
"""
