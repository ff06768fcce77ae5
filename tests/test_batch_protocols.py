"""Provider batches end to end against the local batch server (echo lines: fast).

Each protocol is driven through the real chat classes (`load_model`) and lm-eval's request
objects: a batch run answers as a live run does and fills the same cache; faults re-submit only
the missing lines; the budget reserves before a batch exists; `--no-wait` submits and a later
call collects.
"""

from __future__ import annotations

import json

import pytest
from lm_eval.api.instance import Instance
from lm_eval.models.api_models import JsonChatStr

from openvsclosed.budget import Budget, BudgetExceeded, read_ledger
from openvsclosed.config import RunConfig
from openvsclosed.models import load_model
from openvsclosed.models.api import ApiError
from openvsclosed.models.batch import open_batches
from openvsclosed.models.batchwait import BatchPending
from tests.batch_server import batch_server

PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages",
         "gemini": "/v1beta/openai/chat/completions"}
PROTOCOLS = tuple(PATHS)


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch):
    monkeypatch.setenv("OVC_BATCH_POLL_S", "0.01")
    monkeypatch.setenv("OVC_BATCH_KEY", "sk-batch-test-key")


def make_lm(tmp_path, server, backend, *, batch=True, wait=True, budget=None, cache="cache"):
    cfg = RunConfig.model_validate({"name": "b", "models": [{
        "id": "m", "backend": backend, "access": "closed", "api_model": "echo-1",
        "api_key_env": "OVC_BATCH_KEY", "base_url": server.base + PATHS[backend],
        "input_per_m": 2.0, "output_per_m": 8.0, "batch": batch,
        "batch_input_per_m": 1.0, "batch_output_per_m": 4.0, "backoff_s": 0.01,
        "max_backoff_s": 0.02}], "tasks": [{"name": "ovc_toy_gen"}]})
    return load_model(cfg.models[0], cache_dir=tmp_path / cache, budget=budget or Budget(),
                      batch_dir=tmp_path / "results" / "batches", batch_wait=wait)


def requests(n=5, start=0):
    """Made-up chat requests: 'what is a + b'."""
    out = []
    for i in range(start, start + n):
        chat = [{"role": "user", "content": f"Question: what is {i} plus {i + 1}?\nAnswer:"}]
        out.append(Instance("generate_until", {}, (JsonChatStr(json.dumps(chat)),
                                                   {"until": ["\n\n"], "max_gen_toks": 16}), i))
    return out


@pytest.mark.parametrize("backend", PROTOCOLS)
def test_a_batch_answers_as_live_calls_do_and_fills_the_same_cache(tmp_path, backend):
    with batch_server() as server:
        live = make_lm(tmp_path, server, backend, batch=False, cache="live-cache")
        expected = live.generate_until(requests())
        assert server.live_calls == 5 and server.submissions == 0

        batched = make_lm(tmp_path, server, backend)
        assert batched.generate_until(requests()) == expected
        assert server.submissions == 1 and server.live_calls == 5
        assert batched.meter.requests == 5 and batched.meter.spent_usd > 0
        # the batch price, not the list price: $1/$4 per million against $2/$8
        assert batched.meter.spent_usd == pytest.approx(live.meter.spent_usd / 2)

        again = make_lm(tmp_path, server, backend, batch=False)  # live, the batch's cache
        assert again.generate_until(requests()) == expected
        assert server.live_calls == 5 and again.meter.cached == 5 and again.meter.spent_usd == 0
    assert open_batches(tmp_path / "results") == []


@pytest.mark.parametrize("backend", PROTOCOLS)
def test_no_wait_submits_and_a_later_call_collects(tmp_path, backend):
    with batch_server() as server:
        lm = make_lm(tmp_path, server, backend, wait=False)
        with pytest.raises(BatchPending) as pending:
            lm.generate_until(requests())
        assert len(pending.value.batches) == 1 and f"{backend} batch" in pending.value.batches[0]
        assert server.submissions == 1 and server.executed == 0
        lines = open_batches(tmp_path / "results")
        assert len(lines) == 1 and "0/5 done" in lines[0]

        later = make_lm(tmp_path, server, backend, wait=False)  # a new run, same results dir
        answers = later.generate_until(requests())
        assert answers == [f"#### {2 * i + 1}" for i in range(5)]
        assert server.submissions == 1 and later.meter.requests == 5
    assert open_batches(tmp_path / "results") == []


@pytest.mark.parametrize(("backend", "fault", "missing"), [
    ("openai", {"errored": 2}, 2), ("openai", {"expire_after": 3}, 2),
    ("anthropic", {"errored": 1}, 1), ("anthropic", {"expire_after": 1}, 4),
    ("gemini", {"fail": True}, 5)])
def test_failed_and_expired_lines_go_again_and_only_they(tmp_path, backend, fault, missing):
    with batch_server() as server:
        server.faults = [fault]
        budget = Budget()
        lm = make_lm(tmp_path, server, backend, budget=budget)
        assert lm.generate_until(requests()) == [f"#### {2 * i + 1}" for i in range(5)]
        assert server.submissions == 2
        second = list(server.batches.values())[1]
        assert len(second.lines) == missing  # only the lines the first batch did not answer
        assert server.executed == 5 and lm.meter.requests == 5
        assert budget.reserved_usd == 0 and budget.spent_usd == pytest.approx(lm.meter.spent_usd)


def test_a_budget_that_cannot_cover_the_batch_stops_it_before_anything_is_created(tmp_path):
    with batch_server() as server:
        budget = Budget(max_usd=1e-6)
        lm = make_lm(tmp_path, server, "openai", budget=budget)
        with pytest.raises(BudgetExceeded):
            lm.generate_until(requests())
        assert server.submissions == 0 and server.files == {}
        assert budget.spent_usd == 0 and budget.reserved_usd == 0


def test_a_batch_stopped_by_the_budget_records_what_was_paid(tmp_path):
    """Collected lines stay paid, metered and cached; the re-submission that no longer fits
    is refused before it exists."""
    with batch_server() as server:
        server.faults = [{"errored": 2}]
        budget = Budget(max_usd=1.0, root=tmp_path / "results")
        lm = make_lm(tmp_path, server, "openai", wait=False, budget=budget)
        with pytest.raises(BatchPending):
            lm.generate_until(requests())
        ledger = read_ledger(budget.root)
        held = sum(ledger["reserved"].values())
        other = 1.0 - ledger["spent_usd"] - 0.2 * held
        budget.settle(0.0, other)  # another run's bill lands while the batch waits
        with pytest.raises(BudgetExceeded):
            lm.generate_until(requests())
        paid = lm.meter.spent_usd
        assert lm.meter.requests == 3 and paid > 0
        ledger = read_ledger(budget.root)
        assert ledger["reserved"] == {}
        assert ledger["spent_usd"] == pytest.approx(other + paid)
        assert server.submissions == 1
        assert sum(lm.cache.get(lm.request_key(p)) is not None for p in server_payloads(server)) \
            == 3


def server_payloads(server):
    return [line["body"] for b in server.batches.values() for line in b.lines]


def test_private_tasks_never_go_into_a_batch(tmp_path):
    with batch_server() as server:
        lm = make_lm(tmp_path, server, "anthropic")
        lm.for_job(private=True, loopback_only=False, private_rows=True)  # allow_closed too
        with pytest.raises(ApiError, match="private"):
            lm.generate_until(requests())
        assert server.submissions == 0 and server.files == {} and server.live_calls == 0


def test_a_task_keeping_no_samples_is_batched_but_caches_no_reply(tmp_path):
    with batch_server() as server:
        lm = make_lm(tmp_path, server, "openai")
        lm.for_job(private=True, loopback_only=False, private_rows=False)  # keep_samples: false
        assert len(lm.generate_until(requests(3))) == 3 and server.submissions == 1
        again = make_lm(tmp_path, server, "openai", batch=False)
        again.generate_until(requests(3))
        assert server.live_calls == 3 and again.meter.cached == 0  # nothing was kept


def test_requests_waiting_in_another_runs_batch_are_never_sent_twice(tmp_path):
    with batch_server(polls_to_finish=10**9) as server:
        with pytest.raises(BatchPending):
            make_lm(tmp_path, server, "openai", wait=False).generate_until(requests(3))
        assert server.submissions == 1
        wider = make_lm(tmp_path, server, "openai", wait=False)  # another --limit: 5 requests
        with pytest.raises(BatchPending, match="another run submitted"):
            wider.generate_until(requests(5))
        assert server.submissions == 1  # the 3 already paid for were not sent again
        server.polls_to_finish = 0
        make_lm(tmp_path, server, "openai").generate_until(requests(3))  # that run collects
        assert len(make_lm(tmp_path, server, "openai").generate_until(requests(5))) == 5
        assert server.submissions == 2 and sum(len(b.lines) for b in server.batches.values()) == 5


def test_chunks_never_journaled_give_their_reservation_back(tmp_path, monkeypatch):
    from openvsclosed.budget import read_ledger
    from openvsclosed.models.batch.protocol import BatchApiError

    budget = Budget(max_usd=10.0, root=tmp_path / "ledger")
    with batch_server() as server:
        lm = make_lm(tmp_path, server, "openai", budget=budget)
        monkeypatch.setattr(type(lm.batcher.protocol), "max_requests", 1, raising=False)
        calls = []
        real = type(lm.batcher.protocol).submit

        def second_refused(self, chunk, entry, save):
            calls.append(1)
            if len(calls) == 2:
                raise BatchApiError("HTTP 400: refused")
            return real(self, chunk, entry, save)

        monkeypatch.setattr(type(lm.batcher.protocol), "submit", second_refused)
        with pytest.raises(BatchApiError):
            lm.generate_until(requests(3))
        ledger = read_ledger(tmp_path / "ledger")
        first = lm.batcher.cost(*lm._worst_case_tokens(server_payloads(server)[0]))
        assert len(calls) == 2 and sum(ledger["reserved"].values()) == pytest.approx(first)


def test_the_request_body_is_the_live_body_and_the_custom_id_its_cache_key(tmp_path):
    with batch_server() as server:
        lm = make_lm(tmp_path, server, "openai")
        lm.generate_until(requests(2))
        line = next(iter(server.batches.values())).lines[0]
        chat = [{"role": "user", "content": "Question: what is 0 plus 1?\nAnswer:"}]
        live = lm._payload([JsonChatStr(json.dumps(chat))], True,
                           {"until": ["\n\n"], "max_gen_toks": 16})
        assert line["body"] == live and line["custom_id"] == lm.request_key(live)
        assert line["url"] == "/v1/chat/completions" and line["method"] == "POST"
