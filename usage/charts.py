"""Geometry of the Analytics page's line charts, drawn by the server as inline SVG (no library).

`line_chart` turns series of values into coordinates in a fixed viewBox: polylines (broken where
a value is missing), nice round y-axis ticks from zero, and a few evenly spaced x-axis labels.
Colours are left to CSS (each series has a tone; lines use currentColor), so one drawing reads in
the light and the dark theme.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH = 720
HEIGHT = 200
# The plot area inside the viewBox; the margins hold the axis labels.
LEFT, RIGHT, TOP, BOTTOM = 64, WIDTH - 12, 12, HEIGHT - 28
Y_TICKS = 4
X_LABELS = 6
# Up to this many points each gets a dot, so a lone point or a short series is visible.
DOTS_UP_TO = 48


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    # 1…4: the CSS class `tone-N` picks its colour.
    tone: int = 1


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class DrawnSeries:
    name: str
    tone: int
    # SVG `points` of each unbroken run of values.
    segments: list[str]
    dots: list[tuple[float, float]]


@dataclass(frozen=True)
class Chart:
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    series: list[DrawnSeries]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = RIGHT
    top: int = TOP
    bottom: int = BOTTOM


def nice_step(rough: float) -> float:
    """The step of 1, 2, 2.5 or 5 × 10ⁿ at or above `rough`."""
    if rough <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(rough))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= rough * (1 - 1e-9):
            return factor * power
    return 10 * power


def line_chart(
    series: Sequence[Series],
    labels: Sequence[str],
    value_label: Callable[[float], str],
    label_at: Sequence[int] | None = None,
) -> Chart:
    """Every series over the same x positions (one per label), y from zero to a round top; the
    x axis labels the positions `label_at` (default: about X_LABELS evenly spaced)."""
    count = len(labels)
    highest = max((value for one in series for value in one.values if value), default=0)
    step = nice_step(highest / Y_TICKS) if highest > 0 else 1.0
    top_value = step * max(1, math.ceil(highest / step - 1e-9))
    height = BOTTOM - TOP
    slot = (RIGHT - LEFT) / max(count, 1)

    def x_of(index: int) -> float:
        return round(LEFT + (index + 0.5) * slot, 1)

    def y_of(value: float) -> float:
        return round(BOTTOM - value / top_value * height, 1)

    y_ticks = [
        Tick(y_of(step * n), value_label(step * n)) for n in range(int(round(top_value / step)) + 1)
    ]
    if label_at is None:
        label_at = range(0, count, max(1, math.ceil(count / X_LABELS)))
    x_ticks = [Tick(x_of(index), labels[index]) for index in label_at]

    drawn = []
    for one in series:
        segments, run, dots = [], [], []
        for index, value in enumerate(one.values):
            if value is None:
                if run:
                    segments.append(" ".join(run))
                run = []
                continue
            x, y = x_of(index), y_of(value)
            run.append(f"{x},{y}")
            if count <= DOTS_UP_TO:
                dots.append((x, y))
        if run:
            segments.append(" ".join(run))
        drawn.append(DrawnSeries(one.name, one.tone, segments, dots))
    return Chart(y_ticks=y_ticks, x_ticks=x_ticks, series=drawn)


def count_label(value: float) -> str:
    """12, 1.5k, 2M: short, for an axis."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}" if value % 1 else f"{int(value)}"


def money_label(value: float) -> str:
    if value == 0:
        return "$0"
    if abs(value) >= 1000:
        return f"${count_label(value)}"
    if abs(value) >= 1:
        return f"${value:,.2f}".replace(".00", "")
    return f"${value:.2g}"


def ms_label(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.3g} s"
    return f"{value:.0f} ms"
