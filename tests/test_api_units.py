"""The API layer's pieces that need no server: budget, Retry-After, response cache."""

import json
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from openvsclosed.budget import Budget, BudgetExceeded
from openvsclosed.models.api import ResponseCache, retry_after_seconds


def test_budget_refuses_the_request_that_would_pass_it():
    budget = Budget(max_usd=1.0)
    budget.reserve(0.6)
    with pytest.raises(BudgetExceeded, match="budget of \\$1"):
        budget.reserve(0.5)  # 0.6 held + 0.5 > 1.0
    budget.settle(0.6, 0.2)  # the request cost less than reserved
    budget.reserve(0.5)
    assert budget.spent_usd == pytest.approx(0.2) and budget.reserved_usd == pytest.approx(0.5)
    Budget().reserve(1e9)  # no limit set


def test_budget_is_safe_under_threads():
    budget = Budget(max_usd=10.0)
    granted = []

    def worker():
        for _ in range(50):
            try:
                budget.reserve(0.1)
                granted.append(1)
            except BudgetExceeded:
                pass

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 100  # exactly $10 of $0.10 reservations, never more


def test_retry_after_forms():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 25 < retry_after_seconds(later) <= 30


def test_response_cache_roundtrip(tmp_path):
    cache = ResponseCache(tmp_path / "c" / "responses.sqlite")
    assert cache.get("k") is None
    cache.put("k", {"choices": [{"message": {"content": "A"}}]})
    assert ResponseCache(tmp_path / "c" / "responses.sqlite").get("k")["choices"][0] == {
        "message": {"content": "A"}}


def test_keys_are_stripped_refused_with_control_characters_and_scrubbed_in_every_form():
    from openvsclosed.config import ConfigError
    from openvsclosed.models import UnusableKey, read_key
    from openvsclosed.plan import plan_jobs
    from openvsclosed.runner import scrub
    from openvsclosed.store import ResultStore
    from tests.helpers import run_config

    secret = "sk-ovc-NEWLINE-1234567890"
    assert read_key({"K": f"  {secret}\r\n"}, "K") == secret
    with pytest.raises(UnusableKey) as err:
        read_key({"K": "sk-ab\ncd-efgh"}, "K")
    assert "sk-ab" not in str(err.value) and "K holds a control character" in str(err.value)
    cfg = run_config()
    with pytest.raises(ConfigError) as err:
        plan_jobs(cfg, ResultStore("/nonexistent"), env={"OVC_TEST_KEY": "sk-a\x00b-cdef"})
    assert "sk-a" not in str(err.value) and "OVC_TEST_KEY" in str(err.value)
    raw = f"{secret}\n"
    message = (f"InvalidHeader: Invalid leading whitespace, reserved character(s), or return "
               f"character(s) in header value: 'Bearer {raw!r}' / {secret}\\n")
    cleaned = scrub(message, cfg.models, {"OVC_TEST_KEY": raw})
    assert secret not in cleaned and "$OVC_TEST_KEY" in cleaned


def test_a_reply_echoing_the_key_is_scrubbed_before_anything_keeps_it(monkeypatch):
    from openvsclosed.models.api import ResilientAPI

    monkeypatch.setenv("OVC_ECHO_KEY", "sk-ovc-ECHOED-abcdef\n")
    api = ResilientAPI.__new__(ResilientAPI)
    api.api_key_env = "OVC_ECHO_KEY"
    body = {"choices": [{"message": {"content": "your key is sk-ovc-ECHOED-abcdef"}}]}
    assert "sk-ovc-ECHOED" not in json.dumps(api._without_key(body))


def test_the_reservation_bounds_any_byte_level_tokenizer_whatever_the_script():
    from openvsclosed.models.api import ResilientAPI

    chinese = "下列哪一项是正确的？" * 40
    payload = {"system": "你是一个严谨的考官。" * 20,
               "messages": [{"role": "user", "content": chinese}], "max_tokens": 64}
    tokens_in, tokens_out = ResilientAPI._worst_case_tokens(payload)
    # a byte-level BPE never makes more tokens than bytes (+ a few special tokens per message)
    most = len(chinese.encode()) + len(payload["system"].encode()) + 2 * 8
    assert tokens_in >= most and tokens_out == 64
