"""A local Telegram Bot API for tests, the terminal chat mode and benchmarks.

Run the real PTB stack against it::

    async with Emulator() as emulator:
        app = (
            ApplicationBuilder()
            .token(emulator.token)
            .base_url(emulator.base_url)
            .base_file_url(emulator.base_file_url)
            .build()
        )
        user = emulator.add_user("Ann")
        emulator.send_user_message(user.id, user.id, "/start")
        reply = await emulator.wait_for_bot_message(user.id)
        assert not emulator.protocol_errors

Defaults worth knowing: flood limits are off (`enforce_limits=True` switches
them on), the bot runs in group privacy mode like a fresh BotFather bot, and
every user has already opened the private chat (`add_user(started=False)` for
one who has not). Standalone: `python -m bot.emulator --port 8081` prints the
base URL; `EmulatorClient` drives it from another process. Beside the API it
serves web feeds for the bot to fetch (`emulator.feeds`, `emulator.feed_url`),
hostile ones too: redirects into the private network, gzip bombs. Photos
sent by URL are never fetched: `emulator.photo_urls` decides from the URL
(private hosts unreachable by default; `refuse_photo_url` for more).
"""

from .client import ControlError, EmulatorClient
from .emulator import DEFAULT_TOKEN, Emulator, Stats
from .errors import ApiError, ErrorKind
from .events import Event, Subscription
from .faults import ChatFault, FaultPlan
from .feeds import FeedSite
from .journal import ProtocolError, RequestRecord
from .limits import FloodLimits
from .models import (
    CallbackQueryRecord,
    ChatRecord,
    ChatType,
    EmulatorError,
    FileRecord,
    InlineQueryRecord,
    MessageRecord,
    UserRecord,
)
from .photos import PhotoRefusal, PhotoUrls
from .text import Entity, FormattedText, utf16_len
from .webhook import SECRET_HEADER, WebhookConfig

__all__ = [
    "DEFAULT_TOKEN",
    "SECRET_HEADER",
    "ApiError",
    "CallbackQueryRecord",
    "ChatFault",
    "ChatRecord",
    "ChatType",
    "ControlError",
    "Emulator",
    "EmulatorClient",
    "EmulatorError",
    "Entity",
    "ErrorKind",
    "Event",
    "FaultPlan",
    "FeedSite",
    "FileRecord",
    "FloodLimits",
    "FormattedText",
    "InlineQueryRecord",
    "MessageRecord",
    "PhotoRefusal",
    "PhotoUrls",
    "ProtocolError",
    "RequestRecord",
    "Stats",
    "Subscription",
    "UserRecord",
    "WebhookConfig",
    "utf16_len",
]
