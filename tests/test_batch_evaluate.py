"""A whole job through lm-eval's `simple_evaluate`: batch mode scores what live calls score.

The made-up generative task runs once live and once as a provider batch through the local batch
server, whose lines go to the echo (fast) or to llm-katan serving SmolLM2 (slow); the samples,
the scores and the cache agree, and a live run after the batch sends nothing.
"""

from __future__ import annotations

import pytest

from openvsclosed.models.batch import open_batches
from openvsclosed.tasks import build_task_manager
from tests.batch_server import batch_server
from tests.conftest import TOY_TASKS
from tests.test_batch_protocols import make_lm


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch):
    monkeypatch.setenv("OVC_BATCH_POLL_S", "0.05")
    monkeypatch.setenv("OVC_BATCH_KEY", "sk-batch-test-key")


@pytest.fixture(scope="module")
def manager(toy_mirror):
    return build_task_manager(toy_mirror, [TOY_TASKS], include_defaults=False)


def evaluate(lm, manager):
    from lm_eval import simple_evaluate

    results = simple_evaluate(model=lm, tasks=["ovc_toy_gen"], task_manager=manager,
                              apply_chat_template=True, limit=4, log_samples=True,
                              num_fewshot=0)
    samples = sorted(results["samples"]["ovc_toy_gen"], key=lambda s: s["doc_id"])
    return results["results"]["ovc_toy_gen"], [s["resps"] for s in samples]


def same_job_live_and_batched(tmp_path, manager, upstream, backend):
    with batch_server(upstream=upstream) as server:
        live = make_lm(tmp_path, server, backend, batch=False, cache="live-cache")
        live_scores, live_resps = evaluate(live, manager)
        sent_live = server.live_calls
        assert sent_live == 4 and server.submissions == 0

        batched = make_lm(tmp_path, server, backend)
        scores, resps = evaluate(batched, manager)
        assert resps == live_resps and scores == live_scores
        assert server.submissions == 1 and server.live_calls == sent_live
        assert batched.meter.requests == 4

        again = make_lm(tmp_path, server, backend, batch=False)  # live on the batch's cache
        assert evaluate(again, manager)[1] == live_resps
        assert server.live_calls == sent_live and again.meter.cached == 4
    assert open_batches(tmp_path / "results") == []
    return live_resps


@pytest.mark.parametrize("backend", ["openai", "anthropic", "gemini"])
def test_a_batched_job_scores_as_the_live_job_on_the_echo(tmp_path, manager, backend):
    resps = same_job_live_and_batched(tmp_path, manager, None, backend)
    assert all(r[0][0].startswith("#### ") for r in resps)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["openai", "anthropic"])
def test_a_batched_job_scores_as_the_live_job_on_llm_katan(tmp_path, manager, smol_server,
                                                            backend):
    resps = same_job_live_and_batched(tmp_path, manager, smol_server, backend)
    assert any(r[0][0].strip() for r in resps)  # SmolLM2 really answered
