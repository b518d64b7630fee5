"""The use cases. Handlers and routes stay thin and call these; each owns its transaction."""

from bot.services.container import Services

__all__ = ["Services"]
