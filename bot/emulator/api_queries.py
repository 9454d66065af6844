"""Answers to callback queries and inline queries; each query may be answered once."""

from __future__ import annotations

import re
from typing import Any

from .checks import check_callback_answer_text, check_inline_results
from .core import Core
from .dispatch import api_method
from .errors import QUERY_TOO_OLD, bad_request
from .params import Params


@api_method("answerCallbackQuery")
async def answer_callback_query(core: Core, params: Params) -> bool:
    query = core.callback_queries.get(params.string("callback_query_id"))
    if query is None or query.answered:
        raise bad_request(QUERY_TOO_OLD)
    text = check_callback_answer_text(params.optional_string("text"))
    query.answered = True
    query.text = text
    query.show_alert = params.flag("show_alert")
    query.url = params.optional_string("url")
    core.publish("callback_answered", query.chat_id, query_id=query.id, text=text)
    return True


@api_method("answerInlineQuery")
async def answer_inline_query(core: Core, params: Params) -> bool:
    query = core.inline_queries.get(params.string("inline_query_id"))
    if query is None or query.answered:
        raise bad_request(QUERY_TOO_OLD)
    results = check_inline_results(params.optional_json("results") or [])
    next_offset = params.optional_string("next_offset")
    if next_offset is not None and len(next_offset.encode("utf-8")) > 64:
        raise bad_request("NEXT_OFFSET_INVALID")
    button = _check_results_button(params.optional_json("button"))
    query.answered = True
    query.results = results
    query.next_offset = next_offset
    query.cache_time = params.optional_integer("cache_time")
    query.is_personal = params.flag("is_personal")
    query.button = button
    core.publish("inline_answered", None, query_id=query.id, results=len(results))
    return True


_START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _check_results_button(button: Any) -> Any:
    """An InlineQueryResultsButton: a text and exactly one of web_app or a
    start_parameter of 1-64 characters A-Z, a-z, 0-9, _ and -."""
    if button is None:
        return None
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request("can't parse InlineQueryResultsButton")
    if ("web_app" in button) == ("start_parameter" in button):
        raise bad_request("BUTTON_TYPE_INVALID")
    start = button.get("start_parameter")
    if start is not None and not (isinstance(start, str) and _START_PARAMETER.fullmatch(start)):
        raise bad_request("START_PARAM_INVALID")
    return button
