"""The `openai` Python package, unchanged, with base_url at an emulator edge and the pg_ key
in direct mode: models, chat, streamed chat, completions, speech, transcriptions."""
import openai
from openai import OpenAI

from emu import EDGE, KEY, check, log_count

print(f"  openai {openai.__version__}")
client = OpenAI(base_url=EDGE + "/v1", api_key=KEY, max_retries=0)
models = client.models.list()
ids = [m.id for m in models.data]
check(len(ids) > 0, f"models.list: {ids}")
chat = client.chat.completions.create(model=ids[0], messages=[{"role": "user", "content": "hi"}])
check(chat.choices[0].message.content.startswith("Hello") and chat.usage.total_tokens > 0, "chat.completions.create")
stream = client.chat.completions.create(
    model=ids[0], messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}
)
chunks = list(stream)
text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
check(text.startswith("Hello") and chunks[-1].usage is not None, f"streamed chat: {len(chunks)} chunks, usage last")
done = client.completions.create(model=ids[0], prompt="hi")
check(done.choices[0].text.startswith("Hello"), "completions.create")
speech = client.audio.speech.create(model="tts-1", voice="alloy", input="hi", response_format="wav")
wav = speech.read()
check(wav[:4] == b"RIFF", f"audio.speech.create: {len(wav)} bytes of WAV")
heard = client.audio.transcriptions.create(model="whisper-1", file=("hi.wav", wav))
check("emulator" in heard.text, f"audio.transcriptions.create: {heard.text!r}")
verbose = client.audio.transcriptions.create(model="whisper-1", file=("hi.wav", wav), response_format="verbose_json")
check(verbose.segments and verbose.duration > 0, "audio.transcriptions.create verbose_json (form field)")
check(log_count(role="edge", credential="key", status=200) == 7, "7 edge calls with the key")
try:
    OpenAI(base_url=EDGE + "/v1", api_key="pg_" + "x" * 40, max_retries=0).models.list()
    check(False, "a bad key must fail")
except openai.AuthenticationError as e:
    check(e.status_code == 401, "bad key -> openai.AuthenticationError (401)")
