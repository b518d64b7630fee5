"""The only wiring point: builds the database, services, PTB application, sender and web app
from a config, and runs them together in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import socket
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import uvicorn
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes

from bot.config import Config, ConfigError
from bot.domain.throttle import Throttle
from bot.metrics import Metrics, metrics_app
from bot.networks.runtime import NetworkRuntime
from bot.runtime import Runtime
from bot.services.container import Services, utc_now
from bot.storage.db import Database, upgrade
from bot.storage.leader import LOCK_KEY, Leader
from bot.tg.card_pipeline import CardPipeline
from bot.tg.context import BotData, KocContext
from bot.tg.handlers import register_handlers, set_menus
from bot.tg.ordering import PerUserOrder
from bot.tg.ratelimit import build_limiter
from bot.tg.sender import Sender
from bot.tg.stars import StarsSpent
from bot.tg.tapqueue import TapQueue
from bot.tg.transport import AiohttpRequest
from bot.tg.webapp import set_menu_button
from bot.web.app import build_web_app
from bot.web.click_writer import ClickWriterProcess
from bot.web.clicks import ClickBuffer

log = logging.getLogger(__name__)
TICK_SECONDS = 20
# What each ``kocbot run --role`` does. Several "sender" and "web" processes can run side by
# side on PostgreSQL; "scheduler" work is done only by the leader (bot/storage/leader.py).
ROLES: dict[str, frozenset[str]] = {
    "all": frozenset({"updates", "scheduler", "sender", "web"}),
    "bot": frozenset({"updates", "scheduler"}),
    "web": frozenset({"web"}),
    "sender": frozenset({"sender"}),
}
SETTLE_SECONDS = 3600


def file_url_for(base_url: str) -> str:
    """``http://host/bot`` → ``http://host/file/bot`` (how Bot API servers lay out downloads)."""
    head, sep, _ = base_url.rstrip("/").rpartition("/bot")
    return f"{head}/file/bot" if sep else base_url.rstrip("/") + "/file/bot"


class Kocbot:
    """One running kocbot: the bot, the sender, the scheduler and the web server."""

    def __init__(self, config: Config, *, now: Callable[[], datetime] | None = None,
                 rng: random.Random | None = None, rate_limit: bool = True,
                 cards_dir: Path | None = None, cache_dir: Path | None = None,
                 read_timeout: float = 10.0, run_scheduler: bool = True, role: str = "all",
                 sender_concurrency: int = 64) -> None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        if not config.telegram.token:
            raise ConfigError("config key telegram.token: missing (get one from @BotFather)")
        self.config = config
        self.db = Database.from_url(config.database.url)
        prefix = config.telegram.token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else None
        self.services = Services(config=config, db=self.db, now=now or utc_now,
                                 rng=rng or random.Random(), bot_id=self.bot_id)
        self.metrics = Metrics()
        self.throttle = Throttle()
        self.taps = TapQueue(self.services.tracking, self.services.promoters, db=self.db,
                             on_batch=self.metrics.tap_batches.inc)
        self.run_scheduler = run_scheduler
        self.role = role
        # One scheduler per bot token: each token plans the slots of its own groups.
        self.leader = Leader(self.db.engine, key=LOCK_KEY + (self.bot_id or 0) % 1_000_000_007)
        # Telegram's limits, ~30 messages/s per token and 20/min per group (bot/tg/ratelimit.py):
        # shared through Redis by every process on the token; SQLite means one process.
        self.limiter = build_limiter(
            redis_url=config.telegram.redis_url, shared=not self.db.is_sqlite,
            bot_id=self.bot_id or prefix, paid=config.telegram.paid_broadcast,
            sends_posts="sender" in ROLES[role]) if rate_limit else None
        self.application = self._build_application(read_timeout)
        self.cards = CardPipeline(
            config=config, db=self.db, cards=self.services.cards, bot_id=self.bot_id,
            metrics=self.metrics, out_dir=cards_dir,
            cache_dir=cache_dir or Path(tempfile.gettempdir()) / "kocbot-cache")
        self.sender = Sender(
            db=self.db, posting=self.services.posting, groups=self.services.groups, cards=self.cards,
            bot=self.application.bot, metrics=self.metrics, card=config.card,
            public_url=config.web.public_url, paid_broadcast=config.telegram.paid_broadcast,
            limiter=self.limiter, concurrency=sender_concurrency)
        self.stars_spent = StarsSpent()  # paid-broadcast fees, read from Telegram for /stats
        # The clicks' batch writer: a thread beside the event loop, or a process of its own
        # (bot/web/click_writer.py), which keeps the redirects' loop clear of the GIL it holds.
        writer = config.web.click_writer
        if writer == "auto":  # a web-only process is the one a busy deployment runs many of
            writer = "process" if role == "web" else "thread"
        self.click_writer = (ClickWriterProcess(config, self.services.now)
                             if writer == "process" else None)
        self.clicks = ClickBuffer(
            None if self.click_writer else functools.partial(
                self.services.tracking.save_clicks, orders=self.services.orders,
                promoters=self.services.promoters),
            write=self.click_writer.write if self.click_writer else None,
            max_pending=config.web.click_buffer_max, on_drop=self._click_dropped)
        # Read when scraped: a gauge set on every click cost a lock per redirect.
        self.metrics.click_buffer.set_function(lambda: len(self.clicks))
        self.metrics.watch_queue(self.services.posting.depth)
        self.networks = NetworkRuntime(self.services)
        self.runtime = Runtime(
            config=config, db=self.db, services=self.services, metrics=self.metrics,
            throttle=self.throttle, taps=self.taps, cards=self.cards, sender=self.sender,
            clicks=self.clicks, networks=self.networks, stars_spent=self.stars_spent,
            bot=self.application.bot,
            updates=self.application.update_queue, bot_api_ok=self.bot_api_ok)
        self.application.bot_data.runtime = self.runtime
        self.web = build_web_app(self.runtime)
        self._bot_checked: tuple[float, bool] = (-1e9, False)
        self._server: uvicorn.Server | None = None
        self._server_task: asyncio.Task[None] | None = None
        self._metrics_server: uvicorn.Server | None = None
        self._metrics_task: asyncio.Task[None] | None = None

    def _click_dropped(self, is_bot: bool) -> None:
        self.metrics.clicks_dropped.labels(kind="bot" if is_bot else "human").inc()

    def _build_application(self, read_timeout: float) -> Application:
        t = self.config.telegram
        builder = (
            ApplicationBuilder().token(t.token)
            .context_types(ContextTypes(context=KocContext, bot_data=BotData))
            # As many handlers at once as one getUpdates answer brings, so that a burst of
            # Buy taps shares one transaction (bot/tg/tapqueue.py); one user's updates in
            # the order they came (bot/tg/ordering.py).
            .concurrent_updates(PerUserOrder(100))
            # aiohttp instead of PTB's default httpx: a quarter of the CPU per request
            # (bot/tg/transport.py). Long polls get a connection of their own.
            .request(AiohttpRequest(connection_pool_size=128, read_timeout=read_timeout))
            .get_updates_request(AiohttpRequest(connection_pool_size=1, read_timeout=30))
        )
        if t.base_url:
            builder = builder.base_url(t.base_url).base_file_url(file_url_for(t.base_url))
        if self.limiter is not None:
            builder = builder.rate_limiter(self.limiter)
        if self.config.telegram.mode == "webhook":
            builder = builder.updater(None)
        app = builder.build()
        register_handlers(app)
        return app

    async def bot_api_ok(self) -> bool:
        """Whether the Bot API answers getMe (remembered for 15 s so health checks stay cheap)."""
        now = time.monotonic()
        if now - self._bot_checked[0] < 15:
            return self._bot_checked[1]
        try:
            await asyncio.wait_for(self.application.bot.get_me(), timeout=5)
            ok = True
        except Exception:  # noqa: BLE001 - any failure means "not healthy"
            ok = False
        self._bot_checked = (now, ok)
        return ok

    async def tick(self) -> int:
        """One scheduler pass: queue every due slot, wake the sender."""
        if not await asyncio.to_thread(self.leader.is_leader):
            return 0
        queued = await self.db.run_threaded(self.services.posting.plan_due)
        if queued:
            self.sender.wake()
        return queued

    async def _tick_job(self, _context: KocContext) -> None:
        try:
            await self.tick()
        except Exception:  # noqa: BLE001 - the next tick tries again
            log.exception("scheduler tick failed")
        try:
            # PostgreSQL writers add to per-transaction rollup rows; folding them every tick
            # keeps /stats reading about one row per day and metric. A no-op on SQLite; an
            # advisory lock keeps two processes' folds apart.
            await self.db.run_threaded(self.services.reports.compact_rollups)
            await self.db.run_threaded(self.services.dashboard.compact_earnings)  # the same, for the mini app
        except Exception:  # noqa: BLE001 - the next tick folds what this one did not
            log.exception("rollup compaction failed")

    async def _settle_job(self, _context: KocContext) -> None:
        if not await asyncio.to_thread(self.leader.is_leader):
            return
        try:
            await self.db.run_threaded(self.services.orders.settle)
            await self.db.run_threaded(self.services.promoters.recompute_tiers)
        except Exception:  # noqa: BLE001
            log.exception("settle job failed")

    async def start(self) -> None:
        """Start this process's role; returns once it polls (or the webhook is set) and the web answers."""
        app = self.application
        parts = ROLES[self.role]
        webhook = self.config.telegram.mode == "webhook"
        await app.initialize()
        if "updates" in parts or (webhook and "web" in parts):
            await app.start()  # handlers consume the update queue
        if "updates" in parts:
            await set_menus(app)
            await set_menu_button(app.bot, self.config.web.public_url, lang=self.config.card.locale)
            if webhook:
                await app.bot.set_webhook(
                    url=f"{self.config.web.public_url.rstrip('/')}/telegram",
                    secret_token=self.config.telegram.webhook_secret, allowed_updates=Update.ALL_TYPES)
            else:
                await app.updater.start_polling(poll_interval=0, timeout=10,
                                                allowed_updates=Update.ALL_TYPES)
        if "scheduler" in parts and self.run_scheduler and app.job_queue is not None:
            if not app.job_queue.scheduler.running:
                await app.job_queue.start()
            app.job_queue.run_repeating(self._tick_job, interval=TICK_SECONDS, first=1)
            app.job_queue.run_repeating(self._settle_job, interval=SETTLE_SECONDS, first=5)
            self.networks.start()
        if "sender" in parts:
            self.sender.start()
        if "web" in parts:
            if self.click_writer is not None:
                await self.click_writer.start()
            self.clicks.start()
            await self._start_web()
        from bot.infra_errors import masked

        web = self.config.web
        listen = f"{web.host}:{web.port}" if "web" in parts else "-"
        database = masked(self.config.database.url)
        # One JSON line; its keys name where it listens, its public URL and its database.
        log.info("kocbot started", extra={
            "bot": app.bot.username, "mode": self.config.telegram.mode, "role": self.role,
            "listen": listen, "public_url": web.public_url, "database": database})

    async def _start_web(self) -> None:
        self._server, self._server_task = await _serve(self.web, self.config.web.host,
                                                       self.config.web.port, "kocbot-web")
        m = self.config.metrics
        if m.port:
            self._metrics_server, self._metrics_task = await _serve(
                metrics_app(self.metrics), m.host, m.port, "kocbot-metrics")

    async def stop(self) -> None:
        """Stop taking work, finish sends in flight, flush clicks, close everything."""
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        await self.sender.stop()
        await self.networks.stop()
        for server, task in ((self._server, self._server_task),
                             (self._metrics_server, self._metrics_task)):
            if server is not None and task is not None:
                server.should_exit = True
                with contextlib.suppress(Exception):
                    await task
        await self.clicks.stop()
        if self.click_writer is not None:
            await self.click_writer.close()
        if app.running:
            await app.stop()
        elif app.job_queue is not None and app.job_queue.scheduler.running:
            await app.job_queue.stop()
        await app.shutdown()
        self.leader.release()
        self.db.dispose()

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set (by a signal handler)."""
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()


def ensure_bindable(host: str, port: int) -> None:
    """Raise OSError (EADDRINUSE, EACCES...) when ``host:port`` cannot be listened on."""
    for family, kind, proto, _, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                               flags=socket.AI_PASSIVE):
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            try:
                probe.bind(address)
            except OSError as exc:
                # The address names which listener (web or metrics) could not start.
                raise OSError(exc.errno, exc.strerror, f"{host}:{port}") from None


def web_server_config(app: object, host: str, port: int) -> uvicorn.Config:
    """The uvicorn settings of kocbot's web and metrics servers.

    ``bench/bench_clicks.py`` serves its bare Starlette baseline with the same function, so
    the baseline and the product cannot drift apart in settings (loop, parser, logging)."""
    return uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                          access_log=False)


async def _serve(app: object, host: str, port: int,
                 name: str) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """Start a uvicorn server in this loop; returns once it listens (or raises its bind error)."""
    # uvicorn reports a busy port by logging and exiting the process; bind once first so the
    # CLI can name the fix in one line (bot/infra_errors.py).
    ensure_bindable(host, port)
    server = uvicorn.Server(web_server_config(app, host, port))
    task = asyncio.create_task(server.serve(), name=name)
    while not server.started:
        if task.done():
            task.result()  # raises the bind error
            raise RuntimeError(f"{name} stopped during start-up")
        await asyncio.sleep(0.02)
    return server, task


def prepare_database(config: Config, *, always: bool = False) -> None:
    """``kocbot run`` upgrades an SQLite database by itself; PostgreSQL uses ``kocbot db upgrade``."""
    if always or config.database.url.startswith("sqlite"):
        upgrade(config.database.url)
