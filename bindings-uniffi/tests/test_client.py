"""PolarGrid (threads) against the real emulator over real HTTP."""

import signal
import threading
import os
import traceback

import httpx
import pytest

from conftest import CHAT
from polargrid_core import (APIConnectionError, AuthenticationError, BillingError, ClientClosedError,
                            ConfigError, NotFoundError, PermissionDeniedError, PolarGrid,
                            PolarGridError, RateLimitError)


def client(emu, key="read_write", **kw):
    kw.setdefault("endpoints", emu.info)
    return PolarGrid(emu.keys[key] if key else None, **kw)


def test_models_call_returns_read_httpx_response(emu):
    with client(emu) as pg:
        r = pg.request("GET", "/v1/models")
        assert isinstance(r, httpx.Response) and r.status_code == 200
        assert r.json()["data"][0]["id"] == "llama-3.1-8b"
        assert pg.region == "yto-01" and pg.session_status == "active"


def test_endpoints_as_json_string_and_key_from_environment_work(emu, monkeypatch):
    import json
    monkeypatch.setenv("POLARGRID_API_KEY", emu.keys["read_write"])
    with PolarGrid(endpoints=json.dumps(emu.info)) as pg:
        assert pg.request("GET", "/v1/models").status_code == 200


def test_streamed_chat_arrives_line_by_line_until_done(emu):
    with client(emu) as pg, pg.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as r:
        lines = [ln for ln in r.iter_lines() if ln]
    assert lines[-1] == "data: [DONE]" and len(lines) > 2


def test_revoked_key_raises_authentication_error_with_fields(emu):
    with client(emu, "revoked") as pg, pytest.raises(AuthenticationError) as ei:
        pg.request("GET", "/v1/models")
    e = ei.value
    assert e.kind == "invalid_api_key" and e.status == 401 and not e.retryable
    assert e.cause and e.fix and e.request_id


def test_unknown_path_raises_not_found_with_request_id(emu):
    with client(emu) as pg, pytest.raises(NotFoundError) as ei:
        pg.request("GET", "/v1/nope")
    assert ei.value.status == 404 and ei.value.request_id


def test_no_credits_raises_billing_error(emu):
    with client(emu, "no_credits") as pg, pytest.raises(BillingError) as ei:
        pg.request("POST", "/v1/chat/completions", json=CHAT)
    assert ei.value.status == 402


def test_read_only_key_minting_tokens_raises_permission_denied(emu):
    with client(emu, "read_only") as pg, pytest.raises(PermissionDeniedError) as ei:
        pg.request("POST", "/v1/tokens", json={"room": "r", "identity": "i"})
    assert ei.value.kind == "insufficient_scope"


def test_rate_limit_beyond_cap_raises_rate_limit_error_with_retry_after(emu):
    emu.post("/admin/fault", {"target": "region:yto-01", "kind": "rate_limit", "retry_after": "120"})
    with client(emu, region="yto-01") as pg, pytest.raises(RateLimitError) as ei:
        pg.request("GET", "/v1/models")
    assert ei.value.retry_after == 120 and ei.value.retryable


def test_pinned_region_down_raises_api_connection_error(emu):
    emu.post("/admin/fault", {"target": "region:yto-01", "kind": "down"})
    with client(emu, region="yto-01", max_attempts=2, backoff_ms=(10, 20)) as pg:
        with pytest.raises(APIConnectionError) as ei:
            pg.request("GET", "/v1/models")
    assert ei.value.kind == "network" and ei.value.status is None


@pytest.mark.parametrize("kwargs", [
    {"mode": "sideways"}, {"region": "yto-01", "base_url": "https://x.example"},
    {"endpoints": "not json"}, {"base_url": "ftp://x"}, {"max_attempts": 0},
])
def test_bad_configuration_raises_config_error_with_fix(emu, kwargs):
    with pytest.raises(ConfigError) as ei:
        client(emu, **kwargs)
    e = ei.value
    assert e.kind == "invalid_config" and e.cause and e.fix and str(e).endswith(e.fix)


def test_malformed_key_error_never_shows_the_key(emu):
    secret = "pg_" + "s3cr3t" * 5 + " "
    with pytest.raises(ConfigError) as ei:
        PolarGrid(secret, endpoints=emu.info)
    text = str(ei.value) + repr(ei.value) + "".join(traceback.format_exception(ei.value))
    assert "s3cr3t" not in text and ei.value.fix in text


def test_secrets_never_in_error_str_repr_or_traceback(emu):
    key = emu.keys["revoked"]
    with client(emu, "revoked") as pg:
        try:
            pg.request("GET", "/v1/models")
        except PolarGridError as e:
            text = str(e) + repr(e) + "".join(traceback.format_exception(e)) + repr(vars(e)) + repr(pg)
    assert key not in text and key[3:] not in text


def test_on_session_gets_snapshot_and_session_restores_without_exchange(emu):
    seen = []
    with client(emu, on_session=seen.append) as pg:
        pg.request("GET", "/v1/models")
    assert seen and seen[-1] and "refresh" in seen[-1]
    with client(emu, session=seen[-1]) as pg2:
        assert pg2.request("GET", "/v1/models").status_code == 200
    assert emu.count(role="auth", path="/v1/auth/session") == 1


def test_logout_clears_snapshot_and_next_call_exchanges_again(emu):
    seen = []
    with client(emu, on_session=seen.append) as pg:
        pg.request("GET", "/v1/models")
        pg.logout()
        assert seen[-1] is None
        pg.request("GET", "/v1/models")
    assert emu.count(role="auth", path="/v1/auth/session") == 2


def test_handoff_hand_over_grant_from_backend_serves_calls(emu):
    grant = httpx.post(emu.info["auth"] + "/v1/auth/session",
                       headers={"Authorization": "Bearer " + emu.keys["read_write"]}, json={}).json()
    with PolarGrid(mode="handoff", endpoints=emu.info) as pg:
        pg.hand_over(grant)
        assert pg.request("GET", "/v1/models").status_code == 200
    assert emu.count(role="auth", path="/v1/auth/session") == 1


def test_call_after_close_raises_client_closed(emu):
    pg = client(emu)
    pg.close()
    pg.close()
    with pytest.raises(ClientClosedError):
        pg.request("GET", "/v1/models")


def test_fifty_threads_across_jwt_expiry_cause_exactly_one_refresh(emu):
    emu.post("/admin/config", {"jwt_ttl_s": 3600})
    with client(emu) as pg:
        pg.request("GET", "/v1/models")
        emu.post("/admin/log/clear")
        emu.advance(pg, 3_601_000)
        barrier, results = threading.Barrier(50), []

        def one():
            barrier.wait()
            results.append(pg.request("POST", "/v1/chat/completions", json=CHAT).status_code)
        threads = [threading.Thread(target=one) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [200] * 50
    assert emu.count(role="auth", path="/v1/auth/refresh") == 1
    assert emu.count(role="auth", path="/v1/auth/session") == 0
    assert emu.count(role="edge", status=401) == 0


def test_ctrl_c_during_a_call_cancels_it_and_the_client_stays_usable(emu):
    emu.post("/admin/fault", {"target": "region:yto-01", "kind": "slow", "delay_ms": 30000})
    with client(emu, region="yto-01") as pg:
        def interrupt_when_request_arrived():
            while "slow" in str(emu.admin.get("/admin/faults").json()):
                pass
            os.kill(os.getpid(), signal.SIGINT)  # a real signal, as Ctrl-C sends
        threading.Thread(target=interrupt_when_request_arrived, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            pg.request("GET", "/v1/models")
        assert pg.request("GET", "/v1/models").status_code == 200
