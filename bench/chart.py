"""Chart of messages/s, streamctl next to each anchor, from a bench/run.py JSON file.

python bench/chart.py [bench/results/latest.json] [-o bench/results/chart.png]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# (panel title, [(figure key, bar label)]); streamctl's bars are the ones starting "streamctl"
PANELS = [
    (
        "produce: one message per call",
        [
            ("raw.single_txn", "raw sqlite txn (limit)"),
            ("litequeue.put", "litequeue put"),
            ("persistqueue.put", "persist-queue put"),
            ("redis.xadd", "Valkey xadd"),
            ("lib.xadd", "streamctl xadd"),
        ],
    ),
    (
        "produce: batched",
        [
            ("raw.big_txn", "raw sqlite, 1 txn (limit)"),
            ("redis.xadd_pipe", "Valkey pipeline 1000"),
            ("lib.xadd_pipe", "streamctl pipeline 1000"),
            ("cli.add_batch", "streamctl add --batch (CLI)"),
        ],
    ),
    (
        "consume + ack: one message per call",
        [
            ("raw.claim_ack", "raw sqlite claim+ack (limit)"),
            ("litequeue.pop_done", "litequeue pop+done"),
            ("persistqueue.get_ack", "persist-queue get+ack"),
            ("redis.read1_ack", "Valkey xreadgroup 1 + xack"),
            ("lib.read1_ack", "streamctl xreadgroup 1 + xack"),
        ],
    ),
    (
        "consume + ack: batched",
        [
            ("redis.read100_ack", "Valkey xreadgroup 100 + xack"),
            ("lib.read100_ack", "streamctl xreadgroup 100 + xack"),
            ("cli.consume_json", "streamctl consume --json (CLI)"),
        ],
    ),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", nargs="?", default=os.path.join(HERE, "results", "latest.json"))
    ap.add_argument("-o", "--out", default=os.path.join(HERE, "results", "chart.png"))
    args = ap.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(args.json) as fh:
        data = json.load(fh)
    fig_values = {k: v["median"] for k, v in data["figures"].items()}
    panels = [(t, [(k, lab) for k, lab in bars if k in fig_values]) for t, bars in PANELS]
    panels = [(t, bars) for t, bars in panels if bars]
    if not panels:
        print("no message-rate figures in", args.json, file=sys.stderr)
        return 1

    heights = [max(1.2, 0.45 * len(bars) + 0.6) for _, bars in panels]
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(9, sum(heights) + 1.0),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    top = max(fig_values[k] for _, bars in panels for k, _ in bars)
    for ax, (title, bars) in zip(axes[:, 0], panels, strict=True):
        labels = [lab for _, lab in bars]
        values = [fig_values[k] for k, _ in bars]
        colors = [
            "#d62728"
            if lab.startswith("streamctl")
            else ("#7f7f7f" if "(limit)" in lab else "#1f77b4")
            for lab in labels
        ]
        y = range(len(bars))
        ax.barh(list(y), values, color=colors)
        ax.set_yticks(list(y))
        ax.set_yticklabels(labels, fontsize=9)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlim(max(1.0, min(values) / 3), top * 4)
        ax.set_title(title, fontsize=10, loc="left")
        for yi, v in zip(y, values, strict=True):
            ax.text(v * 1.08, yi, f"{v:,.0f}/s", va="center", fontsize=8)
        ax.grid(axis="x", which="major", alpha=0.3)
    m = data.get("machine", {})
    fig.suptitle(
        f"streamctl vs anchors, messages/s (log scale, median of "
        f"{data.get('config', {}).get('runs', '?')} runs)\n{m.get('cpu', '')} x"
        f"{m.get('cores', '')}, Python {m.get('python', '')}, SQLite "
        f"{m.get('sqlite', '')}, {m.get('date', '')[:10]}",
        fontsize=10,
    )
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {os.path.relpath(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
