"""Inline mode: `@bot words` in any chat offers articles to share."""

from __future__ import annotations

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.i18n import language_of
from bot.search.service import find
from bot.store import articles
from bot.telegram.format import article_block, truncate
from bot.telegram.services import services_of

INLINE_RESULTS = 10
CACHE_SECONDS = 60


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.inline_query
    if query is None:
        return
    services = services_of(context)
    language = language_of(query.from_user.language_code, services.settings.default_language)
    text = query.query.strip()
    page = int(query.offset) if query.offset.isdigit() else 0
    if text:
        result = await find(
            services.db, services.catalogue, text, page=page, page_size=INLINE_RESULTS
        )
        found = [hit.article for hit in result.hits]
        has_more = result.has_more
    else:
        found = await articles.latest(
            services.db, limit=INLINE_RESULTS, offset=page * INLINE_RESULTS
        )
        has_more = len(found) == INLINE_RESULTS
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
        cache_time=CACHE_SECONDS,
        is_personal=False,
        next_offset=str(page + 1) if has_more else "",
    )
