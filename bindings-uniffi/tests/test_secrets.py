"""No record or event the driver emits prints a secret: every HttpRequest it hands the
transport (exchange with the key, calls with the JWT, a refresh with the refresh token in its
body), every event (sessions with their snapshot), the options and the errors are printed
with repr() and str() and scanned for the key, every JWT and every refresh token."""

import json
import threading

import httpx

from conftest import CHAT
from polargrid_core import _http
from polargrid_core import _native as n


PURPOSE = {n.Purpose.EXCHANGE: 0, n.Purpose.REFRESH: 1, n.Purpose.DISCOVER: 2, n.Purpose.CALL: 3}


class Recording(n.Transport):
    """The record transport (as Kotlin's and Swift's), sending with the package's httpx exchange
    (which answers by request id: this stands for the driver and answers each Reply)."""

    def __init__(self):
        self.http, self.seen, self.replies = _http.SyncTransport(httpx.HTTPTransport()), [], {}
        self.http.driver = lambda: self

    def send(self, request, reply):
        self.seen.append(request)
        self.replies[request.id] = reply
        req = _http.Request(request.id, PURPOSE[request.purpose], request.call or 0, request.timeout_ms,
                            request.connect_timeout_ms, request.body_limit, request.method, request.url,
                            request.headers.encode(), request.body)
        threading.Thread(target=self.http.exchange, args=(req,)).start()

    def release(self, request_id):
        self.http.release(request_id)

    def answer(self, request_id, status, head_len, message, collect):
        self.replies.pop(request_id).answer(status, head_len, message)
        return 0

    def fail(self, request_id, kind, collect):
        self.replies.pop(request_id).failed(kind)
        return 0


class Events(n.Listener):
    def __init__(self):
        self.seen, self.lock = [], threading.Lock()

    def on_event(self, event):
        with self.lock:
            self.seen.append(event)


def call(driver, req):
    c = driver.start(req)
    while (r := driver.wait_blocking(c, 100)) is None:
        pass
    return r


def test_every_printed_record_event_and_error_is_free_of_the_key_jwt_and_refresh_token(emu):
    emu.post("/admin/config", {"jwt_ttl_s": 3600})
    key = emu.keys["read_write"]
    t, events = Recording(), Events()
    options = n.Options(api_key=key, endpoints_json=json.dumps(emu.info), seed=3)
    driver = n.Driver(options, t, events)
    chat = n.CallRequest(method="POST", path="/v1/chat/completions", body=json.dumps(CHAT).encode(),
                         headers=[n.Header(name="Content-Type", value="application/json"),
                                  n.Header(name="Authorization", value="Bearer " + key)])
    call(driver, chat)
    emu.advance(driver, 3_601_000)  # the JWT expires: the next call refreshes it
    call(driver, chat)
    errors = []
    try:
        driver.hand_over('{"session_token": "not-a-jwt"}')
    except n.PolarGridError as e:
        errors.append(e)
    driver.logout()
    driver.close()
    bad = n.Driver(n.Options(api_key=emu.keys["revoked"], endpoints_json=json.dumps(emu.info)), Recording(), None)
    try:
        call(bad, chat)
    except n.PolarGridError as e:
        errors.append(e)
    bad.close()

    snapshots = [json.loads(e.snapshot_json) for e in events.seen
                 if e.is_session_changed() and e.snapshot_json is not None]
    secrets = {key, key[3:], emu.keys["revoked"]}
    for s in snapshots:
        secrets |= {s["session_token"], s["refresh_token"]}
    assert len(snapshots) >= 2 and len({s["refresh_token"] for s in snapshots}) >= 2, "exchanged and refreshed"
    purposes = {r.purpose for r in t.seen}
    assert {n.Purpose.EXCHANGE, n.Purpose.REFRESH, n.Purpose.DISCOVER, n.Purpose.CALL} <= purposes
    assert any(s["session_token"] in r.headers for r in t.seen for s in snapshots), "requests carry the JWT"
    assert any(r.body and snapshots[0]["refresh_token"].encode() in r.body for r in t.seen), "and the token"
    kinds = {type(e).__name__.rsplit(".", 1)[-1] for e in events.seen}
    assert len(errors) == 2 and {"SESSION_CHANGED", "REGION_CHANGED"} <= kinds
    printed = [options, *chat.headers, *t.seen, *events.seen, *errors, *(e.failure for e in errors)]
    for obj in printed:
        text = repr(obj) + str(obj)
        for secret in secrets:
            assert secret not in text, f"{type(obj).__name__} prints a secret: {text[:200]}"
