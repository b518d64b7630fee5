"""The typed context handlers receive: ``context.runtime`` carries the collaborators, no untyped dicts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram.ext import Application, CallbackContext, ExtBot

if TYPE_CHECKING:
    from bot.runtime import Runtime


class BotData:
    """What the application shares with every handler; filled once by bot/app.py."""

    runtime: Runtime


class KocContext(CallbackContext[ExtBot, dict, dict, BotData]):
    """A CallbackContext that knows the kocbot runtime."""

    def __init__(self, application: Application, chat_id: int | None = None,
                 user_id: int | None = None) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def runtime(self) -> Runtime:
        return self.bot_data.runtime
