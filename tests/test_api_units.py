"""The API layer's pieces that need no server: budget, Retry-After, response cache."""

import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from openvsclosed.models.api import Budget, BudgetExceeded, ResponseCache, retry_after_seconds


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
