"""One sending process for the shared-budget test: a real PTB bot whose rate limiter is
kocbot's SharedLimiter, sending ``count`` messages to the given chats as fast as it is let.

    python -m tests.support.rate_child BASE_URL TOKEN REDIS_URL CHAT[,CHAT...]

Prints one JSON line: messages sent, 429s received.
"""

from __future__ import annotations

import asyncio
import json
import sys

from telegram.error import RetryAfter
from telegram.ext import ApplicationBuilder

from bot.tg.ratelimit import SharedLimiter
from bot.tg.transport import AiohttpRequest


async def main(base_url: str, token: str, redis_url: str, chats: list[int]) -> None:
    # A wide margin for jitter: the test is about sharing the budget, and a loaded CI machine
    # must not turn scheduling delays into 429s.
    limiter = SharedLimiter(redis_url, bot_id=token.split(":", 1)[0], max_retries=0, margin=0.1)
    app = (ApplicationBuilder().token(token).base_url(base_url).rate_limiter(limiter)
           .request(AiohttpRequest(connection_pool_size=32)).updater(None).build())
    await app.initialize()
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.readline()  # the test starts every process at once
    sent = refused = 0

    async def one(chat: int) -> None:
        nonlocal sent, refused
        try:
            await app.bot.send_message(chat, "deal")
            sent += 1
        except RetryAfter:
            refused += 1

    await asyncio.gather(*(one(chat) for chat in chats))
    await app.shutdown()
    print(json.dumps({"sent": sent, "429": refused, "peers": limiter.peers}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], [int(c) for c in sys.argv[4].split(",")]))
