"""`ogp review OUT`: a local web app where a reviewer checks extracted values against the page and
writes the decisions into the gold set (`pipeline/review_app/gold.py`).

Pages: the report list with each report's scores where it has gold (`pipeline.score`); a report's
queue of values, least certain first (`values.py`), with forms to add a missed actor or
commitment; one value beside its page (image with a box around the source lines, or the text with
them marked: `pages.py`) with accept / correct / delete. Every decision is saved at once.

Security, for an app that shows text read from untrusted PDFs and writes files:
- every page is rendered by Jinja2 with autoescape; no script at all, CSS inline, nothing loaded
  from elsewhere (Content-Security-Policy `default-src 'none'`, images only from the app);
- each browser gets a session cookie (HttpOnly, SameSite=Strict) and every form a CSRF token
  derived from it (HMAC with a secret made at start-up); a POST without the right token, or whose
  `Origin` (else `Referer`) is not this app, is refused (403);
- a request whose `Host` is not one the app serves is refused (400), against DNS rebinding;
- a report name must be a report folder of OUT (`pipeline.outdir.report_folder`: no separators,
  no dot names, no symbolic link out); the gold is written only under the gold folder, page images
  only from the input file the report's `source.json` names, checked by its SHA-256.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline.models import CommitmentReport
from pipeline.outdir import report_folder
from pipeline.review_app import gold as gold_store
from pipeline.review_app import pages
from pipeline.review_app.values import Value, queue, values
from pipeline.score import score_report

SESSION_COOKIE = "ogp_review_session"
CSP = ("default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
MAX_FORM_BYTES = 64 * 1024

_ENV = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@dataclass
class Report:
    name: str
    folder: Path
    pred: CommitmentReport
    pred_sha: str
    gold: gold_store.GoldFile

    def gold_report(self) -> Optional[CommitmentReport]:
        return gold_store.load(self.gold)


def create_app(out: Path, gold_root: Path, reviewer: str, hosts: list[str]) -> FastAPI:
    """The review app over the output folder `out` and the gold set `gold_root`, answering only
    requests addressed to one of `hosts` ("127.0.0.1:8765")."""
    out, gold_root = Path(out), Path(gold_root)
    secret = secrets.token_bytes(32)
    write_lock = threading.Lock()
    allowed_hosts = {h.lower() for h in hosts}
    app = FastAPI(title="ogp review", docs_url=None, redoc_url=None, openapi_url=None)

    def csrf_token(session: str) -> str:
        return hmac.new(secret, session.encode(), hashlib.sha256).hexdigest()

    @app.middleware("http")
    async def guard(request: Request, call_next):
        host = (request.headers.get("host") or "").lower()
        if host not in allowed_hosts:
            return Response("unknown Host", status_code=400, media_type="text/plain")
        session = request.cookies.get(SESSION_COOKIE)
        if request.method not in ("GET", "HEAD"):
            origin = request.headers.get("origin") or _origin_of(request.headers.get("referer"))
            if origin != f"http://{host}":
                return Response("cross-site request refused", status_code=403, media_type="text/plain")
            body = await request.body()
            if len(body) > MAX_FORM_BYTES:
                return Response("form too large", status_code=413, media_type="text/plain")
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
            if not session or not hmac.compare_digest(form.get("csrf", ""), csrf_token(session)):
                return Response("missing or wrong CSRF token: reload the page", status_code=403, media_type="text/plain")
            request.state.form = form
        new_session = None
        if not session:
            session = new_session = secrets.token_urlsafe(32)
        request.state.csrf = csrf_token(session)
        response = await call_next(request)
        if new_session:
            response.set_cookie(SESSION_COOKIE, new_session, httponly=True, samesite="strict")
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def report(name: str) -> Report:
        try:
            folder = report_folder(out, name)
        except ValueError:
            raise HTTPException(404, "no such report") from None
        path = folder / "commitments.json"
        if not path.is_file():
            raise HTTPException(404, "no such report")
        data = path.read_bytes()
        pred = CommitmentReport.model_validate_json(data)
        try:
            gold = gold_store.locate(gold_root, name, pred.source_sha256)
        except (gold_store.DecisionError, ValueError) as exc:
            raise HTTPException(409, str(exc)) from None
        return Report(name, folder, pred, hashlib.sha256(data).hexdigest(), gold)

    def html(request: Request, template: str, **context) -> HTMLResponse:
        body = _ENV.get_template(template).render(csrf=request.state.csrf, reviewer=reviewer, **context)
        return HTMLResponse(body)

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request):
        rows = []
        for folder in sorted(p for p in out.iterdir() if (p / "commitments.json").is_file()):
            try:
                r = report(folder.name)
            except HTTPException as exc:
                if exc.status_code == 409:  # a gold of the same name describes another file: say so
                    rows.append({"name": folder.name, "error": exc.detail})
                continue
            gold = r.gold_report()
            all_values = values(r.pred, gold)
            decided = gold_store.decided_ids(r.gold, r.pred_sha)
            rows.append({"name": r.name, "error": None, "report": r, "score": score_report(gold, r.pred) if gold is not None else None,
                         "values": len(all_values), "to_check": len(queue(all_values, decided))})
        return html(request, "index.html", rows=rows, out=str(out), gold_root=str(gold_root))

    @app.get("/r/{name}", response_class=HTMLResponse)
    def report_page(request: Request, name: str):
        r = report(name)
        gold = r.gold_report()
        all_values = values(r.pred, gold)
        todo = queue(all_values, gold_store.decided_ids(r.gold, r.pred_sha))
        return html(request, "report.html", r=r, gold=gold, queue=todo, total=len(all_values),
                    log=list(reversed(gold_store.log_entries(r.gold)))[:50], forms=_choices(),
                    error=request.query_params.get("error"))

    @app.get("/r/{name}/v/{value_id}", response_class=HTMLResponse)
    def value_page(request: Request, name: str, value_id: str):
        r = report(name)
        gold = r.gold_report()
        all_values = values(r.pred, gold)
        value = next((v for v in all_values if v.id == value_id), None)
        if value is None:
            raise HTTPException(404, "no such value")
        todo = queue(all_values, gold_store.decided_ids(r.gold, r.pred_sha))
        source = pages.locate(r.folder, value.evidence)
        has_image = source is not None and pages.source_pdf(r.folder, r.pred.source_sha256) is not None
        return html(request, "value.html", r=r, v=value, c=r.pred.commitments[value.commitment],
                    item=_item(r.pred, value), source=source, has_image=has_image,
                    next_id=_next(todo, value), forms=_choices(), error=request.query_params.get("error"))

    @app.get("/r/{name}/page/{number}.png")
    def page_image(name: str, number: int):
        r = report(name)
        pdf = pages.source_pdf(r.folder, r.pred.source_sha256)
        if pdf is None:
            raise HTTPException(404, "no page image: the report's input PDF is not where source.json says, or changed")
        try:
            png = pages.render_page(str(pdf.resolve()), pdf.stat().st_mtime_ns, number)
        except ValueError:
            raise HTTPException(404, "no such page") from None
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    def decided(r: Report, request: Request, action) -> RedirectResponse:
        form = request.state.form
        if form.get("prediction") != r.pred_sha:
            raise HTTPException(409, "the report was extracted again since this page was loaded: reload it")
        base = f"/r/{quote(r.name, safe='')}"
        with write_lock:
            try:
                action(form)
            except gold_store.DecisionError as exc:
                value = form.get("value", "")
                back = f"{base}/v/{value}" if _is_value_id(value) else base
                return RedirectResponse(f"{back}?error={quote(str(exc)[:300])}", status_code=303)
        nxt = form.get("next", "")
        return RedirectResponse(f"{base}/v/{nxt}#source" if _is_value_id(nxt) else base, status_code=303)

    @app.post("/r/{name}/decide")
    def decide(request: Request, name: str):
        r = report(name)
        review = gold_store.Review(r.pred, r.pred_sha, r.gold, reviewer)
        return decided(r, request, lambda f: review.decide(f.get("value", ""), f.get("action", ""), f))

    @app.post("/r/{name}/add-actor")
    def add_actor(request: Request, name: str):
        r = report(name)
        review = gold_store.Review(r.pred, r.pred_sha, r.gold, reviewer)

        def act(f):
            try:
                j = int(f.get("commitment", ""))
            except ValueError:
                raise gold_store.DecisionError("choose a commitment") from None
            review.add_actor(j, f)
        return decided(r, request, act)

    @app.post("/r/{name}/add-commitment")
    def add_commitment(request: Request, name: str):
        r = report(name)
        review = gold_store.Review(r.pred, r.pred_sha, r.gold, reviewer)
        return decided(r, request, review.add_commitment)

    return app


def _origin_of(referer: Optional[str]) -> Optional[str]:
    if not referer:
        return None
    parts = urlsplit(referer)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None


def _is_value_id(text: str) -> bool:
    return bool(text) and len(text) < 40 and all(ch.isascii() and (ch.isalnum() or ch in "._") for ch in text)


def _next(todo: list[Value], value: Value) -> Optional[str]:
    """The value to show after deciding on `value`: the next one of the queue."""
    ids = [v.id for v in todo if v.id != value.id]
    return ids[0] if ids else None


def _item(pred: CommitmentReport, value: Value):
    c = pred.commitments[value.commitment]
    if value.kind == "actor":
        return c.actors[value.index]
    if value.kind == "milestone":
        return c.milestones[value.index]
    return None


def _choices() -> dict:
    return {"statuses": gold_store.STATUSES, "sectors": gold_store.SECTORS, "roles": gold_store.ROLES,
            "sections": gold_store.SECTIONS}
