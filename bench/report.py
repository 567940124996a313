"""The one table of the benchmark: rows of portal vs reference figures, their ratio and target.

Every measured figure becomes a ``Row``: what was measured (``name``), its ``unit``, the portal's
figure, the reference's figure (OpenSSH sshd, vsftpd, pyvips ... on the same machine in the same
run), the ratio portal ÷ reference, the rounds behind the medians, and the issue's target for the
ratio (``>= 0.9``, ``<= 1.5``) when it has one. ``alternate`` runs A/B rounds so a slow patch of
the machine hurts both sides alike. ``print_table`` prints the table, ``write_json`` writes
``bench/results/latest.json``. Nothing here asserts a time: figures are printed, targets reported.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Row:
    """One line of the table; ``reference`` is None for figures with nothing to compare against."""

    name: str
    unit: str
    portal: float | None
    reference: float | None = None
    reference_name: str = ""
    rounds: int = 1
    target: str = ""  # ">= 0.9" or "<= 1.5": on the ratio; or "< 2 s" style: on the portal's figure
    note: str = ""
    portal_rounds: list[float] = field(default_factory=list)
    reference_rounds: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.portal is None or not self.reference:
            return None
        return self.portal / self.reference

    @property
    def met(self) -> bool | None:
        """Whether the target holds: on the ratio when there is a reference, else on the figure."""
        if not self.target:
            return None
        op, _, rest = self.target.partition(" ")
        limit = float(rest.split()[0])
        value = self.ratio if self.reference is not None else self.portal
        if value is None:
            return None
        return {">=": value >= limit, "<=": value <= limit, "<": value < limit, ">": value > limit}[op]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = self.ratio
        data["met"] = self.met
        return data


def median_row(
    name: str,
    unit: str,
    portal: Sequence[float],
    reference: Sequence[float] | None = None,
    *,
    reference_name: str = "",
    target: str = "",
    note: str = "",
) -> Row:
    """A row from the figures of each round (medians of each side)."""
    return Row(
        name=name,
        unit=unit,
        portal=statistics.median(portal) if portal else None,
        reference=statistics.median(reference) if reference else None,
        reference_name=reference_name,
        rounds=len(portal),
        target=target,
        note=note,
        portal_rounds=[round(v, 4) for v in portal],
        reference_rounds=[round(v, 4) for v in reference or []],
    )


def alternate(
    rounds: int, portal: Callable[[int], float], reference: Callable[[int], float] | None
) -> tuple[list[float], list[float]]:
    """Run ``portal(i)`` and ``reference(i)`` in alternating rounds, the side that starts swapping."""
    ours: list[float] = []
    theirs: list[float] = []
    for i in range(rounds):
        order = [(portal, ours), (reference, theirs)]
        if i % 2:
            order.reverse()
        for fn, into in order:
            if fn is not None:
                into.append(fn(i))
    return ours, theirs


def _figure(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} CPUs ({cpu}){memory}, {platform.system()} {platform.release()}"


def table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table (what the README's Performance section shows)."""
    headers = ["work", "unit", "portal", "reference", "ratio", "target", "rounds"]
    lines = []
    for row in rows:
        met = row.met
        mark = "" if met is None else (" met" if met else " MISSED")
        lines.append(
            [
                row.name,
                row.unit,
                _figure(row.portal),
                f"{_figure(row.reference)} {row.reference_name}".strip() if row.reference is not None else "-",
                f"{row.ratio:.2f}x" if row.ratio is not None else "-",
                (row.target + mark) if row.target else "",
                str(row.rounds),
            ]
        )
    widths = [max(len(r[i]) for r in [headers, *lines]) for i in range(len(headers))]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"]
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in lines]
    return "\n".join(out)


def print_table(rows: Sequence[Row]) -> None:
    print()
    print(table(rows))
    for row in rows:
        if row.note:
            print(f"- {row.name}: {row.note}")
    print(f"\n{machine()}; {time.strftime('%Y-%m-%d %H:%M %Z')}", flush=True)


def write_json(rows: Sequence[Row], path: Path | None = None, **extra: Any) -> Path:
    path = path or RESULTS / "latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "machine": machine(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **extra,
        "rows": [row.as_dict() for row in rows],
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path
