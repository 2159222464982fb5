"""Quickstart: list models, chat, stream, and the same through the openai package.

    make python && pip install target/wheels/polargrid_core-*.whl httpx openai
    python examples/python/quickstart.py

With POLARGRID_API_KEY set it talks to PolarGrid; without, it starts the bundled emulator
(`cargo run -p polargrid-emulator`) and uses its test key: no account needed.
"""

import json
import os
import subprocess

import httpx

from polargrid_core import BASE_URL, PolarGrid, PolarGridError, PolarGridTransport

emulator = None
options = {}
if not os.environ.get("POLARGRID_API_KEY"):
    emulator = subprocess.Popen(["cargo", "run", "--quiet", "-p", "polargrid-emulator"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    info = json.loads(emulator.stdout.readline())  # first line: URLs and test keys
    options = {"api_key": info["keys"]["read_write"], "endpoints": info}
    print("no POLARGRID_API_KEY: using the local emulator")

try:
    with PolarGrid(**options) as pg:
        models = pg.request("GET", "/v1/models").json()
        print("models:", [m["id"] for m in models["data"]], "from region", pg.region)

        chat = {"model": "llama-3.1-8b", "messages": [{"role": "user", "content": "Say hello"}]}
        print("chat:", pg.request("POST", "/v1/chat/completions", json=chat).json()["choices"][0]["message"]["content"])

        with pg.stream("POST", "/v1/chat/completions", json={**chat, "stream": True}) as resp:
            events = [line for line in resp.iter_lines() if line.startswith("data: ")]
        print("stream:", len(events), "events, last:", events[-1])

        import openai  # the real openai package, on PolarGrid's routing, sessions and retries
        client = openai.OpenAI(base_url=BASE_URL, api_key="unused", max_retries=0,
                               http_client=httpx.Client(transport=PolarGridTransport(pg)))
        reply = client.chat.completions.create(model="llama-3.1-8b", messages=chat["messages"])
        print("openai:", reply.choices[0].message.content)

        try:
            pg.request("GET", "/v1/no-such-endpoint")
        except PolarGridError as e:
            print(f"error: {type(e).__name__} kind={e.kind} status={e.status}\n  cause: {e.cause}\n  fix: {e.fix}")
finally:
    if emulator is not None:
        emulator.stdin.close()
        emulator.wait()
