"""PNG plots of a run (matplotlib, from the ``bench`` extra): latency histograms, burst progress,
operator memory. Skipped with a message when matplotlib is not installed."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_plots(results: dict[str, Any], folder: Path) -> list[Path]:
    """Write the PNGs for whatever phases ``results`` holds; the paths written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'): no plots")
        return []
    written: list[Path] = []
    latency = results.get("latency")
    if latency:
        figure, axes = plt.subplots(1, 2, figsize=(10, 4))
        for axis, track in zip(axes, ("fsd", "dp"), strict=True):
            samples = latency["samples_s"][track]
            bins = 12
            axis.hist(samples["ready"], bins=bins, alpha=0.6, label="operator (webhook → Ready)")
            axis.hist(samples["floor"], bins=bins, alpha=0.6, label="floor (apply → Available)")
            axis.set_title(f"{track.upper()}: time to ready, n={len(samples['ready'])}")
            axis.set_xlabel("seconds")
            axis.set_ylabel("enrollments")
            axis.legend(fontsize=8)
        written.append(_save(figure, folder / "latency_histogram.png"))
    burst = results.get("burst")
    if burst:
        figure, axis = plt.subplots(figsize=(7, 4))
        curves = (("progress_s", "operator: Ready"), ("floor_progress_s", "floor: Available"))
        for key, label in curves:
            times = burst[key]
            axis.step([0, *times], list(range(len(times) + 1)), where="post", label=label)
        axis.set_title(f"burst of {burst['burst_n']} FSD enrollments")
        axis.set_xlabel("seconds since the first create")
        axis.set_ylabel("done")
        axis.legend()
        written.append(_save(figure, folder / "burst_progress.png"))
        figure, axis = plt.subplots(figsize=(7, 4))
        samples = burst["rss_samples"]
        axis.plot([t for t, _ in samples], [m for _, m in samples], label="burst")
        idle = results.get("idle")
        if idle:
            offset = samples[-1][0] if samples else 0
            axis.plot(
                [offset + t for t, _ in idle["rss_samples"]],
                [m for _, m in idle["rss_samples"]],
                label="at rest",
            )
        axis.set_title(f"operator resident memory, {burst['burst_n']} enrollments")
        axis.set_xlabel("seconds")
        axis.set_ylabel("MiB")
        axis.legend()
        written.append(_save(figure, folder / "operator_memory.png"))
    return written


def main() -> None:
    """``python -m bench.plots [folder]``: redraw the plots from a run's JSON files."""
    import json
    import sys

    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "results"
    results = {
        name: json.loads((folder / f"{name}.json").read_text())
        for name in ("latency", "burst", "idle")
        if (folder / f"{name}.json").exists()
    }
    for path in write_plots(results, folder):
        print(f"plot: {path}")


def _save(figure: Any, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    import matplotlib.pyplot as plt

    plt.close(figure)
    return path


if __name__ == "__main__":
    main()
