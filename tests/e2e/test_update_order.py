"""One user's updates are answered in the order they were sent, even when the first one waits
for the database (in a worker thread on PostgreSQL) and the second needs none."""

from __future__ import annotations

USERS = range(9001, 9011)


async def test_a_users_messages_are_answered_in_order(emulator, kocbot) -> None:  # type: ignore[no-untyped-def]
    emu = emulator
    for user in USERS:
        emu.add_user(user, f"U{user}", language_code="en")
    for user in USERS:
        emu.send_command(user, user, "/start")  # registers: database work
        emu.send_command(user, user, "/import")  # refused at once: no database work
    await emu.wait_for(lambda: all(len(emu.sent(chat_id=u)) >= 2 for u in USERS), timeout=20)
    for user in USERS:
        texts = [m["text"] for m in emu.sent(chat_id=user)]
        assert texts[0].startswith(f"👋 Welcome, U{user}!"), texts
        assert texts[1] == "Only platform admins can do that.", texts
