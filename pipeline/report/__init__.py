"""Outputs for people: the per-report review page and the score summary (markdown and terminal table)."""
from pipeline.report.review import load_corrections, render_review, write_review
from pipeline.report.summary import format_table, score_markdown, write_score

__all__ = ["format_table", "load_corrections", "render_review", "score_markdown", "write_review", "write_score"]
