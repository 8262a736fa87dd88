"""Server-rendered SVG charts: one way to turn a series into polyline points."""

from __future__ import annotations

from collections.abc import Sequence


def polyline(
    values: Sequence[float], *, peak: float | None = None, width: int = 600, height: int = 160
) -> str:
    """SVG ``points`` for ``values`` spread over ``width``, scaled so ``peak`` (default:
    the largest value) touches the top; "" for fewer than two values (no line)."""
    if len(values) < 2:
        return ""
    top = (max(values) if peak is None else peak) or 1
    step = width / (len(values) - 1)
    return " ".join(
        f"{round(i * step, 1)},{round(height - value / top * height, 1)}"
        for i, value in enumerate(values)
    )
