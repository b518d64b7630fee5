"""A local Telegram Bot API emulator for offline tests and the demo.

    async with Emulator(token="123456:TEST-TOKEN", bot_username="kocbot_demo_bot") as emu:
        app = ApplicationBuilder().token(emu.token).base_url(emu.base_url) \
            .base_file_url(emu.base_file_url).build()
"""

from .emulator import Emulator
from .models import ApiError, Call, EmulatorError, Violation

__all__ = ["ApiError", "Call", "Emulator", "EmulatorError", "Violation"]
