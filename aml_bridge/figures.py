"""Pictures of Azure's JSON metrics, so a person sees a chart in the MLflow UI, not just JSON.

matplotlib is imported only here and only when a rich metric is logged. A payload that does not
follow Azure's schema (Azure never validates it) is stored but not drawn.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def render(kind: str, payload: Any, path: str) -> bool:
    """Draw `payload` of metric type `kind` into PNG `path`; False when it cannot be drawn."""
    drawer = _DRAWERS.get(kind)
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    if drawer is None:
        return False
    fig, ax = plt.subplots(figsize=(6, 4.5))
    try:
        drawer(ax, payload["data"])
        ax.set_title(kind.replace("_", " "))
        fig.tight_layout()
        fig.savefig(path, format="png")
        return True
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        log.info("aml-bridge: %s payload not drawn (%s)", kind, exc)
        return False
    finally:
        plt.close(fig)


def _confusion_matrix(ax: Any, data: dict) -> None:
    labels, matrix = data["class_labels"], data["matrix"]
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels=[str(x) for x in labels])
    ax.set_yticks(range(len(labels)), labels=[str(x) for x in labels])
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            ax.text(j, i, str(count), ha="center", va="center")


def _accuracy_table(ax: Any, data: dict) -> None:
    """One ROC curve per class from the probability tables (TP, FP, TN, FN per threshold)."""
    for label, table in zip(data["class_labels"], data["probability_tables"]):
        tpr = [tp / max(tp + fn, 1) for tp, fp, tn, fn in table]
        fpr = [fp / max(fp + tn, 1) for tp, fp, tn, fn in table]
        ax.plot(fpr, tpr, label=str(label))
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend()


def _residuals(ax: Any, data: dict) -> None:
    edges, counts = data["bin_edges"], data["bin_counts"]
    ax.bar(edges[:-1], counts, width=[b - a for a, b in zip(edges, edges[1:])], align="edge")
    ax.set_xlabel("residual")
    ax.set_ylabel("count")


def _predictions(ax: Any, data: dict) -> None:
    edges = data["bin_edges"]
    centres = [(a + b) / 2 for a, b in zip(edges, edges[1:])]
    ax.errorbar(centres, data["bin_averages"], yerr=data["bin_errors"], fmt="o")
    ax.plot([edges[0], edges[-1]], [edges[0], edges[-1]], linestyle="--")
    ax.set_xlabel("true value")
    ax.set_ylabel("mean prediction")


_DRAWERS = {
    "confusion_matrix": _confusion_matrix,
    "accuracy_table": _accuracy_table,
    "residuals": _residuals,
    "predictions": _predictions,
}
