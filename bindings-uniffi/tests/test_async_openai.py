"""AsyncPolarGrid, and the real openai package through both transports."""

import asyncio

import httpx
import openai
import pytest

from conftest import CHAT
from polargrid_core import (AsyncPolarGrid, AsyncPolarGridTransport, NotFoundError, PolarGrid,
                            PolarGridTransport)


def test_async_request_and_stream_work(emu):
    async def main():
        async with AsyncPolarGrid(emu.keys["read_write"], endpoints=emu.info) as pg:
            r = await pg.request("GET", "/v1/models")
            async with pg.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as s:
                lines = [ln async for ln in s.aiter_lines() if ln]
            with pytest.raises(NotFoundError):
                await pg.request("GET", "/v1/nope")
            return r, lines
    r, lines = asyncio.run(main())
    assert r.status_code == 200 and r.json()["data"] and lines[-1] == "data: [DONE]"


def test_thousand_tasks_across_jwt_expiry_cause_exactly_one_refresh(emu):
    emu.post("/admin/config", {"jwt_ttl_s": 3600})

    async def main():
        # The emulator serves one request per connection: bound them, not the tasks.
        http = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=16))
        async with AsyncPolarGrid(emu.keys["read_write"], endpoints=emu.info, http_transport=http) as pg:
            await pg.request("GET", "/v1/models")
            emu.post("/admin/log/clear")
            emu.advance(pg, 3_601_000)
            rs = await asyncio.gather(*(pg.request("GET", "/v1/models") for _ in range(1000)))
            return [r.status_code for r in rs]
    assert asyncio.run(main()) == [200] * 1000
    assert emu.count(role="auth", path="/v1/auth/refresh") == 1
    assert emu.count(role="auth", path="/v1/auth/session") == 0
    assert emu.count(role="edge", status=401) == 0


def test_cancelled_task_cancels_its_call_and_client_stays_usable(emu):
    emu.post("/admin/fault", {"target": "region:yto-01", "kind": "slow", "delay_ms": 30000})

    async def main():
        async with AsyncPolarGrid(emu.keys["read_write"], endpoints=emu.info, region="yto-01") as pg:
            task = asyncio.create_task(pg.request("GET", "/v1/models"))
            while "slow" in str(emu.admin.get("/admin/faults").json()):
                await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return (await pg.request("GET", "/v1/models")).status_code
    assert asyncio.run(main()) == 200


def test_openai_client_runs_models_chat_and_streamed_chat_through_transport(emu):
    with PolarGrid(emu.keys["read_write"], endpoints=emu.info) as pg:
        oc = openai.OpenAI(base_url=pg.base_url, api_key="unused", max_retries=0,
                           http_client=httpx.Client(transport=PolarGridTransport(pg)))
        assert [m.id for m in oc.models.list().data][0] == "llama-3.1-8b"
        c = oc.chat.completions.create(model="llama-3.1-8b", messages=CHAT["messages"])
        assert "hi" in c.choices[0].message.content
        chunks = list(oc.chat.completions.create(model="llama-3.1-8b", messages=CHAT["messages"], stream=True))
        assert len(chunks) > 1
        with pytest.raises(openai.AuthenticationError):
            bad = PolarGrid(emu.keys["revoked"], endpoints=emu.info)
            openai.OpenAI(base_url=bad.base_url, api_key="unused", max_retries=0,
                          http_client=httpx.Client(transport=PolarGridTransport(bad))).models.list()
    assert emu.count(role="auth", path="/v1/auth/session", credential="key") >= 1
    assert all(e["credential"] != "other" for e in emu.log(role="edge"))


def test_async_openai_client_runs_models_chat_and_streamed_chat_through_transport(emu):
    async def main():
        async with AsyncPolarGrid(emu.keys["read_write"], endpoints=emu.info) as pg:
            oc = openai.AsyncOpenAI(base_url=pg.base_url, api_key="unused", max_retries=0,
                                    http_client=httpx.AsyncClient(transport=AsyncPolarGridTransport(pg)))
            models = await oc.models.list()
            c = await oc.chat.completions.create(model="llama-3.1-8b", messages=CHAT["messages"])
            chunks = [ch async for ch in await oc.chat.completions.create(
                model="llama-3.1-8b", messages=CHAT["messages"], stream=True)]
            return models.data[0].id, c.choices[0].message.content, len(chunks)
    mid, text, n = asyncio.run(main())
    assert mid == "llama-3.1-8b" and "hi" in text and n > 1
