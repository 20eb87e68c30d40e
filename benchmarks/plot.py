"""Draw the capacity curve of a benchmark report: step p50 and p95 against concurrent readers.

    python -m benchmarks --json --only capacity > report.json
    python -m benchmarks.plot report.json docs/capacity.png

Needs matplotlib (in requirements-dev.txt); the benchmark itself does not.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main", "plot_capacity"]


def plot_capacity(report: dict[str, Any], out: Path) -> None:
    """Write the PNG of ``report``'s ``readers_at_250ms_p95`` curve to ``out``."""
    import matplotlib

    matplotlib.use("Agg")  # no display: a file only
    import matplotlib.pyplot as plt

    figure = report["figures"]["readers_at_250ms_p95"]
    curve = [level for level in figure["details"]["curve"] if level["p95_ms"] is not None]
    if not curve:
        raise ValueError("the report has no capacity curve (was the capacity part run?)")
    readers = [level["readers"] for level in curve]
    fig, axes = plt.subplots(figsize=(7, 4), dpi=110)
    axes.plot(readers, [level["p95_ms"] for level in curve], "o-", label="step p95")
    axes.plot(readers, [level["p50_ms"] for level in curve], "s--", label="step p50")
    axes.axhline(figure["details"]["goal_ms"], color="grey", linestyle=":", label="250 ms goal")
    for level in curve:
        cores = level.get("server_cpu_cores")
        if cores is not None:
            axes.annotate(
                f"server {cores:g} cores\n{level['server_rss_mib']:.0f} MiB",
                (level["readers"], level["p95_ms"]),
                textcoords="offset points",
                xytext=(6, 6),
                fontsize=7,
            )
    axes.set_xscale("log", base=2)
    axes.margins(x=0.2)  # room for the notes beside the last point
    # and above the highest one, below the title
    axes.set_ylim(top=max(max(level["p95_ms"] for level in curve), figure["details"]["goal_ms"]) * 1.25)
    axes.set_xticks(readers, [str(count) for count in readers])
    axes.set_xlabel("concurrent readers (2-4 s pauses, every lesson)")
    axes.set_ylabel("step latency (ms)")
    machine = report["machine"]
    load = f"{machine['load'][0]:g}" + (f"-{machine['load_end'][0]:g}" if machine.get("load_end") else "")
    axes.set_title(
        f"One app server, {machine['cpus']} cores, load average {load}: "
        f"{figure['value']} readers within 250 ms p95",
        fontsize=9,
    )
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.plot REPORT.json OUT.png``; exit status 2 with one line on a problem."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m benchmarks.plot REPORT.json OUT.png", file=sys.stderr)
        return 2
    try:
        plot_capacity(json.loads(Path(args[0]).read_text()), Path(args[1]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"cannot draw the capacity curve: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
