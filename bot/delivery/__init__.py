"""Delivery: Telegram's flood limits, the bot-wide rate limiter and the outbox sender."""

from bot.delivery.limits import FloodPlanner, Limits
from bot.delivery.ratelimiter import BULK, RateLimitArgs, TelegramRateLimiter
from bot.delivery.sender import OutboxSender, drain

__all__ = [
    "BULK",
    "FloodPlanner",
    "Limits",
    "OutboxSender",
    "RateLimitArgs",
    "TelegramRateLimiter",
    "drain",
]
