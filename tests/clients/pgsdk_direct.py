"""polargrid-sdk 0.10.x, unchanged: autorouter discovery, then the pg_ key sent straight to the edge.

Its autorouter address is a module constant (there is no option for it): the script sets
`polargrid.client.AUTOROUTER_URL` to the emulator's autorouter, as a test would."""
import asyncio
import importlib.metadata

import polargrid
import polargrid.client
from polargrid import AuthenticationError, PolarGrid

from emu import INFO, KEY, check, log_count

polargrid.client.AUTOROUTER_URL = INFO["autorouter"]
first = INFO["regions"][0]


async def main():
    print(f"  polargrid-sdk {importlib.metadata.version('polargrid-sdk')}")
    pg = await PolarGrid.create(api_key=KEY)
    check(pg.get_region_id() == first["id"], f"discovery picked {pg.get_region_id()} (the emulator's first region)")
    check(log_count(role="autorouter", path="/v1/route", status=200) == 1, "one GET /v1/route at the emulator")
    models = await pg.list_models()
    check(len(models.data) > 0 and all(m.root == m.id for m in models.data),
          f"list_models parsed {[m.id for m in models.data]} (ModelInfo with root)")
    model = models.data[0].id
    chat = await pg.chat_completion({"model": model, "messages": [{"role": "user", "content": "hi"}]})
    check(chat.choices[0].message.content and chat.usage.total_tokens > 0, "chat_completion parsed")
    check(chat.pg_metadata is not None and chat.pg_metadata.region == first["id"], "pg_metadata names the region")
    pieces = [c async for c in pg.chat_completion_stream({"model": model, "messages": [{"role": "user", "content": "hi"}]})]
    text = "".join(p.choices[0].delta.content or "" for p in pieces if p.choices)
    check(len(pieces) > 2 and "Hello" in text, f"chat_completion_stream: {len(pieces)} chunks")
    done = [c async for c in pg.completion_stream({"model": model, "prompt": "hi"})]
    check(len(done) > 1 and all(c.choices for c in done), f"completion_stream: {len(done)} chunks")
    plain = await pg.completion({"model": model, "prompt": "hi"})
    check(plain.choices[0].text and plain.pg_metadata.region == first["id"], "completion parsed")
    wav = await pg.text_to_speech({"model": "kokoro-82m", "input": "hi", "voice": "alloy", "response_format": "wav"})
    check(wav[:4] == b"RIFF", f"text_to_speech: {len(wav)} bytes of WAV")
    heard = await pg.transcribe(wav, {"model": "whisper-large-v3"})
    check("emulator" in heard.text, f"transcribe (streamed by default): {heard.text!r}")
    verbose = await pg.transcribe(wav, {"model": "whisper-large-v3", "response_format": "verbose_json"})
    check(verbose.segments and verbose.segments[0].text == verbose.text, "transcribe verbose_json parsed")
    check(log_count(role="edge", credential="key", status=200) == 8, "8 edge calls, each with the pg_ key")
    bad = PolarGrid(api_key="pg_" + "x" * 40, base_url=first["url"], max_retries=0)
    try:
        await bad.list_models()
        check(False, "a bad key must fail")
    except AuthenticationError as e:
        check("Invalid API key" in str(e), f"bad key -> AuthenticationError ({e})")


asyncio.run(main())
