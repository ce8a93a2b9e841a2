"""Flow `evaluate`: score a batch's extraction against the gold set and publish the scores as
Prefect artifacts (a markdown report with every miss, and a table a row per report)."""
from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from pipeline.report import score_markdown, write_score
from pipeline.report.summary import HEADERS, table_rows
from pipeline.score import score_corpus


@task(name="score")
def score(gold_root: Path, pred_root: Path) -> dict:
    return score_corpus(gold_root, pred_root)


@task(name="publish-scores")
def publish(result: dict, out: Path) -> None:
    write_score(result, out)
    create_markdown_artifact(score_markdown(result), key="ogp-scores", description="Extraction scored against gold")
    create_table_artifact([dict(zip(HEADERS, row)) for row in table_rows(result)], key="ogp-scores-table",
                          description="Scores per report")


@flow(name="evaluate")
def evaluate(gold_root: Path, pred_root: Path, out: Path | None = None) -> dict:
    """Score every report of `pred_root` that has gold in `gold_root`; writes score.json and
    score.md to `out` (default: `pred_root`)."""
    result = score(gold_root, pred_root)
    publish(result, out or pred_root)
    return result
