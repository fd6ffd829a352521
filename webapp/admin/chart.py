"""The refusals-per-day chart: stacked bars by category, laid out here and drawn as SVG."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from safety.verdict import CATEGORIES

WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 10, 26
MIN_DAYS, MAX_DAYS = 14, 60
MAX_BAR = 28.0
# One colour per category, distinguishable for common colour-vision deficiencies.
PALETTE = ["#3352d6", "#d6336c", "#f08c00", "#0c8599", "#7048e8", "#2b8a3e", "#862e9c"]
COLORS = dict(zip(CATEGORIES, PALETTE, strict=True))
OTHER_COLOR = "#868e96"


@dataclass(frozen=True)
class Bar:
    """One category's slice of one day's bar."""

    x: float
    y: float
    width: float
    height: float
    color: str
    label: str


def build_chart(counts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Geometry for the chart of ``RefusalLog.counts_per_day`` rows; None when empty."""
    if not counts:
        return None
    days = _day_range(counts)
    per_day = {day: [] for day in days}
    for row in counts:
        if row["day"] in per_day:
            per_day[row["day"]].append(row)
    top = max(sum(r["count"] for r in rows) for rows in per_day.values()) or 1
    slot = (WIDTH - LEFT - RIGHT) / len(days)
    bars, labels = [], []
    for i, day in enumerate(days):
        width = min(slot * 0.7, MAX_BAR)
        x, base = LEFT + i * slot + (slot - width) / 2, HEIGHT - BOTTOM
        for row in sorted(per_day[day], key=lambda r: _order(r["category"])):
            h = row["count"] / top * (HEIGHT - TOP - BOTTOM)
            base -= h
            label = f"{day} · {row['category']}: {row['count']}"
            bars.append(Bar(x, base, width, h, color_of(row["category"]), label))
        if i % max(1, len(days) // 7) == 0:
            labels.append({"x": x + width / 2, "text": day[5:]})
    ticks = [
        {"y": HEIGHT - BOTTOM - f * (HEIGHT - TOP - BOTTOM), "value": round(top * f)}
        for f in (0, 0.5, 1)
        if f == 0 or round(top * f) > 0
    ]
    categories = sorted({r["category"] for r in counts}, key=_order)
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "bars": bars,
        "labels": labels,
        "ticks": ticks,
        "legend": [{"name": c, "color": color_of(c)} for c in categories],
        "summary": f"{sum(r['count'] for r in counts)} refusals from {days[0]} to {days[-1]}",
    }


def color_of(category: str) -> str:
    """The chart colour of a category."""
    return COLORS.get(category, OTHER_COLOR)


def _order(category: str) -> int:
    return CATEGORIES.index(category) if category in CATEGORIES else len(CATEGORIES)


def _day_range(counts: list[dict[str, Any]]) -> list[str]:
    """Every day from the first to the last with refusals (at most the last MAX_DAYS)."""
    first = date.fromisoformat(min(r["day"] for r in counts))
    last = date.fromisoformat(max(r["day"] for r in counts))
    # A short history still gets a two-week axis, so one busy day is not one huge block.
    first = min(first, last - timedelta(days=MIN_DAYS - 1))
    first = max(first, last - timedelta(days=MAX_DAYS - 1))
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
