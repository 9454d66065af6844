"""Inline mode: `@bot words` in any chat offers articles to share."""

from __future__ import annotations

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode

from bot.formatting import article_block, truncate
from bot.i18n import language_of
from bot.reader.problems import inline_problem_text
from bot.search.query import QueryProblem
from bot.search.service import find, newest, page_from_offset
from bot.telegram.context import Context
from bot.telegram.services import services_of

INLINE_RESULTS = 10
CACHE_SECONDS = 60
HELP_START = "search"  # the /start parameter of the button that explains a refusal


async def inline_query(update: Update, context: Context) -> None:
    query = update.inline_query
    if query is None:
        return
    services = services_of(context)
    language = language_of(query.from_user.language_code, services.settings.default_language)
    text = query.query.strip()
    page = page_from_offset(query.offset)
    budget = services.search_budget
    if text:
        result = await find(
            services.db,
            services.catalogue,
            text,
            page=page,
            page_size=INLINE_RESULTS,
            budget=budget,
            prefer=language,
        )
    else:
        result = await newest(
            services.db, page=page, page_size=INLINE_RESULTS, budget=budget, prefer=language
        )
    found = [hit.article for hit in result.hits]
    problem = inline_problem_text(result.problem, language)
    # Telegram shows the button above the (empty) results: the one place an
    # inline answer can say why nothing came back. Pressing it opens the bot.
    button = (
        InlineQueryResultsButton(text=problem, start_parameter=HELP_START)
        if problem is not None
        else None
    )
    names = services.topic_names(language)
    results = [
        InlineQueryResultArticle(
            id=str(article.id),
            title=truncate(article.title, 120),
            description=truncate(article.summary, 160) or None,
            url=article.url,
            input_message_content=InputTextMessageContent(
                article_block(article, language=language, topic_names=names),
                parse_mode=ParseMode.HTML,
            ),
        )
        for article in found
    ]
    await query.answer(
        results,
        # A search stopped by its budget may run another time: never cached.
        cache_time=0 if result.problem is QueryProblem.TOO_BROAD else CACHE_SECONDS,
        # Personal: a paired story is offered in the asker's language.
        is_personal=True,
        # Left out, not "", on the last page: with Defaults set, PTB 22 turns ""
        # into "[]", which Telegram would send back as the offset of a next page.
        next_offset=str(page + 1) if result.has_more else None,
        button=button,
    )
