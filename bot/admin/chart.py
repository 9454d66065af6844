"""The /stats picture: subscribers and deliveries over the last 30 days, as PNG.

Built on a bare `Figure` with the Agg canvas instead of pyplot: pyplot keeps
global state and is not safe to use from the worker threads this runs in.

matplotlib (with numpy, Pillow and fontTools) is imported on the first chart,
not with this module: it is some 70 MB of a process that otherwise idles
at a fraction of that, for a picture an admin asks for now and then.
"""

from __future__ import annotations

import io

from bot.admin.stats import Series
from bot.i18n import t

SIZE_INCHES = (8.0, 5.0)
DPI = 100


def render_chart(series: Series, language: str) -> bytes:
    """PNG bytes; slow enough (~0.1 s, the first call ~1 s more for the imports)
    to belong in `asyncio.to_thread`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True)
    labels = [day.strftime("%d/%m") for day in series.days]
    positions = list(range(len(labels)))

    top.plot(positions, series.subscribers, color="#1f77b4", linewidth=2, marker="o", markersize=3)
    top.set_title(t(language, "admin.chart_subscribers"))
    top.set_ylim(bottom=0)
    top.grid(True, alpha=0.3)

    bottom.bar(positions, series.deliveries, color="#2ca02c")
    bottom.set_title(t(language, "admin.chart_deliveries"))
    bottom.grid(True, axis="y", alpha=0.3)
    step = max(1, len(labels) // 10)
    for axes in (top, bottom):
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # chats and messages are whole
    bottom.set_xticks(positions[::step], labels[::step], rotation=45, fontsize=8)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
