"""A request never leaves without its body: 1,000 concurrent POSTs with distinct bodies, on
threads and on asyncio. The emulator logs exactly 1,000 chat requests, all answered 200 (a
request without its body is a 400), with 1,000 distinct request ids, and each answer echoes
its own body's token (no body went with another call)."""

import asyncio
import threading

from polargrid_core import AsyncPolarGrid, PolarGrid

N = 1000


def body(i):
    return {"model": "llama-3.1-8b", "messages": [{"role": "user", "content": f"token-{i:04d}"}]}


def check(emu, answers, errors=()):
    assert not errors, f"{len(errors)} calls failed: {errors[:3]}"
    assert sorted(answers) == list(range(N)), "every call answered with its own body"
    calls = [e for e in emu.log(role="edge") if e["path"] == "/v1/chat/completions"]
    assert len(calls) == N and all(e["status"] == 200 for e in calls), \
        [e for e in calls if e["status"] != 200][:3] or len(calls)
    assert len({e["request_id"] for e in calls}) == N


def echoed(resp):
    text = resp.json()["choices"][0]["message"]["content"]
    return int(text.rsplit("token-", 1)[1])


def test_a_thousand_threads_posting_distinct_bodies_each_reach_the_edge_once(emu):
    answers, errors, lock = [], [], threading.Lock()
    with PolarGrid(emu.keys["read_write"], endpoints=emu.info) as pg:
        pg.request("GET", "/v1/models")  # session and region first: the calls race only each other
        emu.post("/admin/log/clear")
        start = threading.Barrier(N)

        def one(i):
            start.wait()
            try:
                got = echoed(pg.request("POST", "/v1/chat/completions", json=body(i)))
            except Exception as e:
                with lock:
                    errors.append(repr(e) + " " + str(e))
                return
            with lock:
                answers.append(got if got == i else -1)
        threads = [threading.Thread(target=one, args=(i,)) for i in range(N)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    check(emu, answers, errors)


def test_a_thousand_asyncio_tasks_posting_distinct_bodies_each_reach_the_edge_once(emu):
    async def main():
        async with AsyncPolarGrid(emu.keys["read_write"], endpoints=emu.info) as pg:
            await pg.request("GET", "/v1/models")
            emu.post("/admin/log/clear")

            async def one(i):
                got = echoed(await pg.request("POST", "/v1/chat/completions", json=body(i)))
                return got if got == i else -1
            return await asyncio.gather(*(one(i) for i in range(N)))
    check(emu, asyncio.run(main()))
