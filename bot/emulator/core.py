"""Everything one emulated Telegram remembers, and the gate every change passes.

`Core` owns the state pieces (world, files, updates, queries, commands, faults,
flood limits, journal) and the order in which a call is judged:

1. the handler validates the request          -> protocol errors (400)
2. a fault injected for the chat or thread    -> injected 403/400
3. the bot's rights in the chat               -> 403 blocked/kicked, 400 migrated
4. random faults for methods in scope         -> injected 429/5xx/timeout, latency
5. flood limits for message-sending methods   -> 429 with retry_after
   (a message with allow_paid_broadcast on the paid budget)
6. commit: the message is stored and answered (a paid one is counted and billed)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from typing import Any

from .dispatch import Delivery, Method
from .errors import ErrorKind, bad_request, chat_not_found, too_many_requests
from .events import Event, EventHub
from .faults import FaultInjector, FaultPlan
from .feeds import FeedSite
from .files import FileStore
from .journal import Journal
from .limits import FloodGate, FloodLimits
from .models import (
    CallbackQueryRecord,
    ChatRecord,
    ChatType,
    InlineQueryRecord,
    MessageRecord,
    UserRecord,
)
from .params import Params
from .photos import PhotoUrls
from .state import World
from .updates import UpdateQueue
from .webhook import WebhookPusher


class Core:
    def __init__(
        self,
        *,
        token: str,
        bot_username: str,
        bot_first_name: str,
        privacy_mode: bool,
        enforce_limits: bool,
        limits: FloodLimits | None,
        fault_plan: FaultPlan | None,
        request_log_limit: int | None,
        webhook_retry_delay: float,
        history_limit: int | None = None,
    ) -> None:
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret:
            raise ValueError("a bot token looks like '123456:secret'")
        self.token = token
        self.bot = UserRecord(
            id=int(bot_id), first_name=bot_first_name, username=bot_username, is_bot=True
        )
        self.privacy_mode = privacy_mode
        self.world = World(self.bot, history_limit)
        self.files = FileStore()
        self.feeds = FeedSite()
        self.photo_urls = PhotoUrls()
        self.updates = UpdateQueue()
        self.webhook = WebhookPusher(self.updates, webhook_retry_delay, on_push=self.notify)
        self.faults = FaultInjector(fault_plan or FaultPlan())
        self.flood = FloodGate(limits)
        self.enforce_limits = enforce_limits
        self.journal = Journal(request_log_limit)
        self.events = EventHub()
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.inline_queries: dict[str, InlineQueryRecord] = {}
        self.changed = asyncio.Condition()
        self.closing = asyncio.Event()
        self._query_ids = itertools.count(4_000_000_000_000_000_001)

    # -- parameters that name state ------------------------------------------------

    def chat_param(self, params: Params, name: str = "chat_id") -> ChatRecord:
        chat = self.world.resolve(params.chat_ref(name))
        if chat is None:
            raise chat_not_found()
        return chat

    def reply_target(self, chat: ChatRecord, params: Params) -> MessageRecord | None:
        """The message a new one replies to, from reply_parameters or reply_to_message_id."""
        reply = params.optional_json("reply_parameters")
        if reply is not None:
            if not isinstance(reply, dict) or not isinstance(reply.get("message_id"), int):
                raise bad_request("can't parse reply parameters JSON object")
            message_id: int | None = reply["message_id"]
            lenient = bool(reply.get("allow_sending_without_reply"))
            if "chat_id" in reply:
                other = self.world.resolve(reply["chat_id"])
                if other is None:
                    raise chat_not_found()
                chat = other
        else:
            message_id = params.optional_integer("reply_to_message_id")
            lenient = params.flag("allow_sending_without_reply")
        if message_id is None:
            return None
        target = chat.messages.get(message_id)
        if target is None and not lenient:
            raise bad_request("message to be replied not found")
        return target

    # -- the gate ------------------------------------------------------------------

    def check_access(self, delivery: Delivery) -> None:
        chat = delivery.chat
        faults = self.faults
        error = faults.chat_error(chat.id, chat.type.value, chat.migrated_to)
        if error is None:
            error = self.world.write_refusal(chat)
        if error is None:
            error = faults.thread_error(chat.id, delivery.thread_id)
        if error is None:
            error = self.world.thread_refusal(chat, delivery.thread_id)
        if error is not None:
            raise error

    def admit(self, method: Method, chat: ChatRecord, *, paid: bool = False) -> None:
        """Apply the flood limits; `paid`: the message asked for the paid budget."""
        if not (method.sends and self.enforce_limits):
            return
        refusal = self.flood.admit(chat.id, chat.is_group, paid=paid)
        if refusal is not None:
            self.journal.flood_429 += 1
            error = too_many_requests(refusal.retry_after, kind=ErrorKind.FLOOD)
            error.detail = refusal.limit
            raise error

    async def pause(self, seconds: float) -> None:
        """Sleep, but end at once when the emulator stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closing.wait(), seconds)

    async def notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    # -- effects -------------------------------------------------------------------

    def post(
        self,
        chat: ChatRecord,
        *,
        thread_id: int | None = None,
        reply_to: MessageRecord | None = None,
        **fields: Any,
    ) -> MessageRecord:
        """Store a message from the bot and tell subscribers."""
        if thread_id is None and reply_to is not None and chat.is_forum:
            thread_id = reply_to.thread_id
        sender = None if chat.type is ChatType.CHANNEL else self.bot
        message = self.world.new_message(
            chat,
            from_bot=True,
            sender=sender,
            thread_id=thread_id,
            is_topic_message=chat.is_forum and thread_id is not None,
            reply_to=reply_to,
            **fields,
        )
        self.journal.delivered += 1
        self.publish("sent", chat.id, message)
        return message

    def publish(
        self, kind: str, chat_id: int | None, message: MessageRecord | None = None, **detail: Any
    ) -> None:
        self.events.publish(Event(kind, chat_id, message, detail))

    def new_query_id(self) -> str:
        return str(next(self._query_ids))

    @staticmethod
    def now() -> int:
        return int(time.time())
