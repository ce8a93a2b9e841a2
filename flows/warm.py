"""Imported by the forkserver of the report workers (flows.pool) before it forks any: the flows,
the library, the stages' code versions, the lexicon, the repair rules and the spaCy pipeline,
loaded once, so that every worker starts with them (its pages are the forkserver's, copied only
when written)."""
from flows import report  # noqa: F401 - the flows, the tasks and every stage of the library
from flows.caching import stage_versions
from pipeline.extract import build_pipeline
from pipeline.extract.confidence import table
from pipeline.repair import lexicon, rules

stage_versions()
lexicon.load()
rules.load_rules()
build_pipeline()
table()
