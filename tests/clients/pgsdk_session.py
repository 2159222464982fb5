"""polargrid-sdk 0.6.1, unchanged: the last release that exchanges the pg_ key for a session
JWT (auth_url at the emulator) and refreshes it when it expires.

Expiry without waiting: the emulator's clock and the SDK's `time.time` (seen through its
module) both move 25 h ahead."""
import asyncio
import importlib.metadata
import time as real_time
import types

import polargrid.client
from polargrid import PolarGrid

from emu import INFO, KEY, admin, check, log_count

edge = INFO["regions"][0]["url"]
offset = 0.0
polargrid.client.time = types.SimpleNamespace(
    time=lambda: real_time.time() + offset, sleep=real_time.sleep, monotonic=real_time.monotonic
)


async def main():
    global offset
    print(f"  polargrid-sdk {importlib.metadata.version('polargrid-sdk')}")
    pg = PolarGrid(api_key=KEY, base_url=edge, auth_url=INFO["auth"] + "/v1/auth/session")
    models = await pg.list_models()
    check(len(models.data) > 0, "list_models with a session JWT")
    check(log_count(role="auth", path="/v1/auth/session", status=200) == 1, "one key exchange at the emulator")
    check(log_count(role="edge", credential="jwt", status=200) == 1, "the edge saw the JWT, not the key")
    check(log_count(role="edge", credential="key") == 0, "the key never reached the edge")
    day = 25 * 3600
    admin("/admin/clock", {"advance_ms": day * 1000})
    offset += day
    chat = await pg.chat_completion({"model": models.data[0].id, "messages": [{"role": "user", "content": "hi"}]})
    check(chat.choices[0].message.content, "chat after expiry")
    check(log_count(role="auth", path="/v1/auth/refresh", status=200) == 1, "one refresh (200)")
    check(log_count(role="auth", path="/v1/auth/session") == 1, "no second exchange")
    check(log_count(role="edge", status=401) == 0, "no expired JWT reached the edge")


asyncio.run(main())
