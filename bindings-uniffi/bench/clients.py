"""One bench client: `python clients.py NAME URL SECONDS` prints requests per second and this
process's CPU microseconds per request for sequential GET /v1/models against the stub at URL
(CPU per request is the client's own cost, steady even on a busy machine). NAME: ours-sync, ours-async, httpx-sync,
httpx-async, pgsdk-async, pgsdk-sync (the last two need polargrid-sdk 0.10.0)."""

import asyncio
import sys
import time

KEY = "pg_bench_key_0123456789"
name, url, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
HEADERS = {"Authorization": "Bearer " + KEY}


def run_sync(one):
    for _ in range(20):
        one()
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while (elapsed := time.perf_counter() - t0) < seconds:
        for _ in range(20):
            one()
        n += 20
    return n / elapsed, (time.process_time() - c0) / n * 1e6


async def run_async(one):
    for _ in range(20):
        await one()
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while (elapsed := time.perf_counter() - t0) < seconds:
        for _ in range(20):
            await one()
        n += 20
    return n / elapsed, (time.process_time() - c0) / n * 1e6


if name == "httpx-sync":
    import httpx
    c = httpx.Client()
    rate = run_sync(lambda: c.get(url + "/v1/models", headers=HEADERS).content)
elif name == "httpx-async":
    import httpx

    async def main():
        async with httpx.AsyncClient() as c:
            async def one():
                return (await c.get(url + "/v1/models", headers=HEADERS)).content
            return await run_async(one)
    rate = asyncio.run(main())
elif name == "ours-sync":
    from polargrid_core import PolarGrid
    pg = PolarGrid(KEY, mode="direct", base_url=url)
    rate = run_sync(lambda: pg.request("GET", "/v1/models").content)
elif name == "ours-async":
    from polargrid_core import AsyncPolarGrid

    async def main():
        async with AsyncPolarGrid(KEY, mode="direct", base_url=url) as pg:
            async def one():
                return (await pg.request("GET", "/v1/models")).content
            return await run_async(one)
    rate = asyncio.run(main())
elif name == "pgsdk-async":
    from polargrid import PolarGrid as Published

    async def main():
        pg = Published(api_key=KEY, base_url=url)
        return await run_async(pg.list_models)
    rate = asyncio.run(main())
elif name == "pgsdk-sync":
    from polargrid import PolarGridSync
    pg = PolarGridSync(api_key=KEY, base_url=url)
    rate = run_sync(pg.list_models)
else:
    sys.exit(f"unknown client {name}")
print(f"{rate[0]:.0f} {rate[1]:.0f}")
