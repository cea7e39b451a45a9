"""The local dashboard: a Starlette app of server-rendered pages (Jinja2) with htmx for the live parts.

Pages: Queue (counts, failure rate and throughput over the last hour with `jobs stats --check`'s thresholds,
workers, a filtered job list, a job's detail with retry / cancel, charts), Provisioning (runs, steps, logs,
compensation, retry), Billing (the Stripe event ledger with replay, subscriptions per organization) and Mail (the
outbox and the local maildir, rendered). Every write goes through the CLI's SQL functions (actions.py).

Who may use it is decided by `server.check_bind` (a loopback bind, or the secret-key login) and, per request, by
the Host header (a DNS-rebinding page cannot reach a loopback dashboard) and, for every POST, the Origin.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from uuid import UUID

from jinja2 import Environment, PackageLoader, select_autoescape
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from functions_py.dashboard import actions, charts, mail, queries

STATIC_DIR = Path(__file__).with_name("static")
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
RUN_STATUSES = ("pending", "running", "succeeded", "compensating", "rolled_back", "failed")
PAGE_SIZE = 50
WINDOW = timedelta(hours=1)
CHART_STEP = timedelta(minutes=2)
COOKIE = "supakit_dashboard"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass(frozen=True)
class DashboardConfig:
    """What the app needs: the database, where local mail lands, the alert thresholds, the poll interval, and the
    secret key when the login is on (None: no login, loopback only)."""

    database_url: str
    maildir: Path
    max_queued: int = 50
    max_failure_rate: float = 0.05
    poll_s: int = 2
    login_key: str | None = None
    allowed_hosts: tuple[str, ...] = LOOPBACK_NAMES
    pool_size: int = 4


def _fmt_time(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _fmt_json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str, ensure_ascii=False)


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("functions_py.dashboard", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["ts"] = _fmt_time
    env.filters["pretty"] = _fmt_json
    env.filters["pct"] = lambda value: f"{value:.1%}"
    env.filters["urlquote"] = lambda value: quote(str(value), safe="")
    return env


def _cookie_value(key: str) -> str:
    return hmac.new(key.encode(), b"supakit-dashboard-session", hashlib.sha256).hexdigest()


class Guard:
    """Pure ASGI middleware: Host check, Origin check on writes, and the login cookie when the login is on."""

    def __init__(self, app: Any, config: DashboardConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        host = (request.headers.get("host") or "").lower()
        hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if self.config.login_key is None and hostname not in self.config.allowed_hosts:
            await PlainTextResponse(f"the dashboard answers only on {', '.join(self.config.allowed_hosts)}; "
                                    f"not for Host: {host or '(none)'}", status_code=421)(scope, receive, send)
            return
        if request.method == "POST":
            origin = request.headers.get("origin")
            if origin and urlsplit(origin).netloc.lower() != host:
                await PlainTextResponse("cross-origin form posts are refused", status_code=403)(scope, receive, send)
                return
        path = scope["path"]
        if self.config.login_key is not None and not path.startswith(("/static/", "/login")):
            expected = _cookie_value(self.config.login_key)
            if not hmac.compare_digest(request.cookies.get(COOKIE, ""), expected):
                await RedirectResponse(f"/login?next={quote(path)}", status_code=303)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def build(config: DashboardConfig) -> Starlette:
    """The dashboard as an ASGI app (its database pool opens with the app's lifespan)."""
    env = _environment()
    pool = AsyncConnectionPool(config.database_url, min_size=1, max_size=config.pool_size, open=False,
                               kwargs={"autocommit": True, "application_name": "supakit dashboard",
                                       "options": "-c statement_timeout=10000"})

    def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("flash", request.query_params.get("flash"))
        context.setdefault("flash_ok", request.query_params.get("ok") == "1")
        html = env.get_template(template).render(request=request, login=config.login_key is not None,
                                                  poll_s=config.poll_s, **context)
        return HTMLResponse(html, status_code=status_code)

    def not_found(request: Request, what: str) -> HTMLResponse:
        return page(request, "not_found.html", status_code=404, what=what)

    def after(path: str, outcome: actions.Outcome) -> RedirectResponse:
        return RedirectResponse(f"{outcome.path or path}?ok={int(outcome.ok)}&flash={quote(outcome.message)}",
                                status_code=303)

    # -- queue ------------------------------------------------------------------------------------------------

    async def summary_context() -> dict[str, Any]:
        async with pool.connection() as conn:
            depth = await (await conn.execute(queries.JOB_DEPTH_BY_KIND)).fetchall()
            failed, finished = await (await conn.execute(queries.JOB_WINDOW_OUTCOMES, {"window": WINDOW})).fetchone()
            oldest = (await (await conn.execute(queries.JOB_OLDEST_QUEUED)).fetchone())[0]
            workers = await (await conn.execute(queries.WORKER_SEEN_MANY, {"window": WINDOW})).fetchall()
            history = await (await conn.execute(queries.JOB_HISTORY, {"step": CHART_STEP,
                                                                      "window": WINDOW})).fetchall()
        kinds: dict[str, dict[str, int]] = {}
        for kind, status, count in depth:
            kinds.setdefault(kind, dict.fromkeys(JOB_STATUSES, 0))[status] = count
        totals = {status: sum(row[status] for row in kinds.values()) for status in JOB_STATUSES}
        queued = totals["queued"]
        rate = failed / finished if finished else 0.0
        alerts = []
        if queued > config.max_queued:
            alerts.append(f"{queued} jobs queued (more than {config.max_queued})")
        if rate > config.max_failure_rate:
            alerts.append(f"failure rate {rate:.1%} over the last hour (more than {config.max_failure_rate:.1%})")
        times = [row[0] for row in history]
        return {
            "kinds": kinds, "totals": totals, "statuses": JOB_STATUSES, "queued": queued, "failed": failed,
            "finished": finished, "rate": rate, "alerts": alerts, "workers": workers,
            "oldest": float(oldest) if oldest is not None else None,
            "max_queued": config.max_queued, "max_failure_rate": config.max_failure_rate,
            "depth_svg": charts.depth_chart(times, [row[1] for row in history]),
            "throughput_svg": charts.throughput_chart(times, [row[2] for row in history], [row[3] for row in history]),
        }

    def job_filters(request: Request) -> dict[str, Any]:
        status = request.query_params.get("status") or None
        kind = request.query_params.get("kind") or None
        before = request.query_params.get("before") or None
        return {"status": status if status in JOB_STATUSES else None, "kind": kind,
                "before": int(before) if before and before.isdigit() else None}

    async def jobs_context(request: Request) -> dict[str, Any]:
        filters = job_filters(request)
        async with pool.connection() as conn:
            rows = await (await conn.execute(queries.JOB_SELECT_MANY, {**filters, "limit": PAGE_SIZE + 1})).fetchall()
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        query = "&".join(f"{k}={quote(str(v))}" for k, v in filters.items() if v is not None and k != "before")
        return {"jobs": rows, "filters": filters, "more": more, "next_before": rows[-1][0] if more else None,
                "filter_query": query}

    async def queue(request: Request) -> Response:
        summary, jobs = await asyncio.gather(summary_context(), jobs_context(request))
        return page(request, "queue.html", nav="queue", **summary, **jobs)

    async def queue_summary(request: Request) -> Response:
        return page(request, "_queue_summary.html", **(await summary_context()))

    async def queue_jobs(request: Request) -> Response:
        return page(request, "_jobs.html", **(await jobs_context(request)))

    async def job(request: Request) -> Response:
        job_id = request.path_params["job_id"]
        async with pool.connection() as conn:
            cursor = await conn.execute(queries.JOB_SELECT_ONE, {"id": job_id})
            row = await cursor.fetchone()
            names = [column.name for column in cursor.description]
        if row is None:
            return not_found(request, f"job {job_id}")
        return page(request, "job.html", nav="queue", job=dict(zip(names, row, strict=True)))

    async def job_retry(request: Request) -> Response:
        job_id = request.path_params["job_id"]
        async with pool.connection() as conn:
            outcome = await actions.retry_job(conn, job_id)
        return after(f"/queue/jobs/{job_id}", outcome)

    async def job_cancel(request: Request) -> Response:
        job_id = request.path_params["job_id"]
        async with pool.connection() as conn:
            outcome = await actions.cancel_job(conn, job_id)
        return after(f"/queue/jobs/{job_id}", outcome)

    # -- provisioning -----------------------------------------------------------------------------------------

    async def provisioning(request: Request) -> Response:
        status = request.query_params.get("status") or None
        status = status if status in RUN_STATUSES else None
        async with pool.connection() as conn:
            runs = await (await conn.execute(queries.RUN_SELECT_MANY, {"status": status,
                                                                       "limit": PAGE_SIZE})).fetchall()
        return page(request, "provisioning.html", nav="provisioning", runs=runs, status=status,
                    statuses=RUN_STATUSES)

    def _uuid(raw: str) -> UUID | None:
        try:
            return UUID(raw)
        except ValueError:
            return None

    async def run(request: Request) -> Response:
        run_id = _uuid(request.path_params["run_id"])
        if run_id is None:
            return not_found(request, "that run")
        async with pool.connection() as conn:
            row = await (await conn.execute(queries.RUN_SELECT_ONE, {"id": run_id})).fetchone()
            if row is None:
                return not_found(request, f"run {run_id}")
            steps = await (await conn.execute(queries.STEP_SELECT_MANY, {"id": run_id})).fetchall()
            logs = await (await conn.execute(queries.LOG_SELECT_MANY, {"id": run_id, "limit": 200})).fetchall()
            infra = await (await conn.execute(queries.INFRASTRUCTURE_SELECT_ONE, {"org": row[1]})).fetchone()
        compensated = [s for s in steps if s[2] in ("compensating", "compensated", "compensation_failed")]
        return page(request, "run.html", nav="provisioning", run=row, steps=steps, logs=logs, infra=infra,
                    compensated=compensated)

    async def run_retry(request: Request) -> Response:
        run_id = _uuid(request.path_params["run_id"])
        if run_id is None:
            return not_found(request, "that run")
        outcome = await asyncio.to_thread(actions.retry_provisioning, config.database_url, run_id)
        return after(f"/provisioning/runs/{run_id}", outcome)

    # -- billing ----------------------------------------------------------------------------------------------

    async def billing(request: Request) -> Response:
        failed = request.query_params.get("failed") == "1"
        async with pool.connection() as conn:
            events = await (await conn.execute(queries.EVENT_SELECT_MANY, {"failed": failed,
                                                                           "limit": PAGE_SIZE})).fetchall()
            subscriptions = await (await conn.execute(queries.SUBSCRIPTION_SELECT_MANY,
                                                      {"limit": 200})).fetchall()
        return page(request, "billing.html", nav="billing", events=events, subscriptions=subscriptions,
                    failed=failed)

    async def event(request: Request) -> Response:
        event_id = request.path_params["event_id"]
        async with pool.connection() as conn:
            cursor = await conn.execute(queries.EVENT_SELECT_ONE, {"id": event_id})
            row = await cursor.fetchone()
            names = [column.name for column in cursor.description]
        if row is None:
            return not_found(request, f"Stripe event {event_id}")
        return page(request, "event.html", nav="billing", event=dict(zip(names, row, strict=True)))

    async def event_replay(request: Request) -> Response:
        event_id = request.path_params["event_id"]
        form = await request.form()
        outcome = await asyncio.to_thread(actions.replay_event, config.database_url, event_id,
                                          force=form.get("force") == "1")
        return after(f"/billing/events/{quote(event_id)}", outcome)

    # -- mail -------------------------------------------------------------------------------------------------

    async def mail_page(request: Request) -> Response:
        async with pool.connection() as conn:
            emails = await (await conn.execute(queries.EMAIL_SELECT_MANY, {"limit": PAGE_SIZE})).fetchall()
        delivered = await asyncio.to_thread(mail.list_maildir, config.maildir)
        return page(request, "mail.html", nav="mail", emails=emails, delivered=delivered, maildir=config.maildir)

    async def outbox_email(request: Request) -> Response:
        email_id = request.path_params["email_id"]
        async with pool.connection() as conn:
            cursor = await conn.execute(queries.EMAIL_SELECT_ONE, {"id": email_id})
            row = await cursor.fetchone()
            names = [column.name for column in cursor.description]
        if row is None:
            return not_found(request, f"e-mail {email_id}")
        email = dict(zip(names, row, strict=True))
        subject, body = mail.render_outbox(email["template"], email["data"])
        return page(request, "email.html", nav="mail", email=email, subject=subject, body=body)

    async def maildir_message(request: Request) -> Response:
        name = request.path_params["name"]
        message = await asyncio.to_thread(mail.read_maildir, config.maildir, name)
        if message is None:
            return not_found(request, f"message {name}")
        return page(request, "message.html", nav="mail", message=message)

    # -- login ------------------------------------------------------------------------------------------------

    async def login(request: Request) -> Response:
        target = request.query_params.get("next") or "/queue"
        if not target.startswith("/") or target.startswith("//"):
            target = "/queue"
        if request.method == "GET":
            return page(request, "login.html", target=target, error=None)
        form = await request.form()
        key = str(form.get("key") or "")
        if config.login_key is None or not hmac.compare_digest(key.encode(), config.login_key.encode()):
            return page(request, "login.html", status_code=401, target=target,
                        error="that is not the project's secret key (supakit status shows it)")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, _cookie_value(config.login_key), httponly=True, samesite="strict")
        return response

    async def index(request: Request) -> Response:
        return RedirectResponse("/queue", status_code=307)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await pool.open()
        try:
            yield
        finally:
            await pool.close()

    routes = [
        Route("/", index),
        Route("/queue", queue),
        Route("/queue/summary", queue_summary),
        Route("/queue/jobs", queue_jobs),
        Route("/queue/jobs/{job_id:int}", job),
        Route("/queue/jobs/{job_id:int}/retry", job_retry, methods=["POST"]),
        Route("/queue/jobs/{job_id:int}/cancel", job_cancel, methods=["POST"]),
        Route("/provisioning", provisioning),
        Route("/provisioning/runs/{run_id}", run),
        Route("/provisioning/runs/{run_id}/retry", run_retry, methods=["POST"]),
        Route("/billing", billing),
        Route("/billing/events/{event_id}", event),
        Route("/billing/events/{event_id}/replay", event_replay, methods=["POST"]),
        Route("/mail", mail_page),
        Route("/mail/outbox/{email_id:int}", outbox_email),
        Route("/mail/maildir/{name}", maildir_message),
        Route("/login", login, methods=["GET", "POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(Guard, config=config)])
