"""Batch protocol pieces without a server: limits, endpoints, where the key may go, line parsing."""

from __future__ import annotations

import json

import pytest

from openvsclosed.models.batch import protocol_for
from openvsclosed.models.batch.anthropic import AnthropicBatches
from openvsclosed.models.batch.openai import OpenAIBatches
from openvsclosed.models.batch.protocol import BatchApiError, BatchStatus


def openai(url="https://api.openai.com/v1/chat/completions"):
    return OpenAIBatches(url, "m", {"Authorization": "Bearer k", "Content-Type": "x"})


def test_endpoints_derive_from_the_chat_endpoint_each_backend_uses():
    assert openai().root == "https://api.openai.com/v1"
    gemini = protocol_for("gemini", "https://generativelanguage.googleapis.com/v1beta/openai/"
                          "chat/completions", "m", {})
    assert gemini.root == "https://generativelanguage.googleapis.com/v1beta/openai"
    assert gemini.name == "gemini"
    anthropic = AnthropicBatches("https://api.anthropic.com/v1/messages", "m", {})
    assert anthropic.batches == "https://api.anthropic.com/v1/messages/batches"
    with pytest.raises(BatchApiError, match="must end in /chat/completions"):
        _ = openai("https://example.test/v1/completions").root
    with pytest.raises(ValueError, match="allowed: openai, anthropic, gemini"):
        protocol_for("together", "https://x/v1/chat/completions", "m", {})
    assert "Content-Type" not in openai().headers  # multipart uploads set their own


def test_requests_are_split_within_the_providers_count_and_byte_limits():
    proto = openai()
    proto.max_requests = 3
    items = [(f"id{i}", {"messages": [{"role": "user", "content": "x" * 10}]})
             for i in range(7)]
    assert [len(c) for c in proto.chunks(items)] == [3, 3, 1]
    line = len(json.dumps(proto.line(*items[0]))) + 1
    proto.max_requests, proto.max_bytes = 100, 2 * line
    assert [len(c) for c in proto.chunks(items)] == [2, 2, 2, 1]
    proto.max_bytes = line - 1
    with pytest.raises(BatchApiError, match="more than a openai batch may hold"):
        proto.chunks(items)
    assert AnthropicBatches.max_requests == 100_000 and OpenAIBatches.max_requests == 50_000


def test_the_key_goes_only_to_the_endpoints_own_host():
    proto = AnthropicBatches("https://api.anthropic.com/v1/messages", "m", {"x-api-key": "k"})
    ok = "https://api.anthropic.com/v1/messages/batches/b/results"
    assert proto.same_origin(ok) == ok
    with pytest.raises(BatchApiError, match="another host"):
        proto.same_origin("https://evil.test/v1/messages/batches/b/results")
    with pytest.raises(BatchApiError, match="another host"):
        proto.same_origin("http://api.anthropic.com/v1/messages/batches/b/results")


def test_output_and_error_lines_read_as_replies_or_failures(monkeypatch):
    proto = openai()
    out = [{"custom_id": "a", "error": None,
            "response": {"status_code": 200, "body": {"choices": []}}},
           {"custom_id": "b", "error": None, "response": {"status_code": 500, "body": {}}},
           {"custom_id": "c", "response": None,
            "error": {"code": "batch_expired", "message": "expired"}}]

    class Reply:
        text = "\n".join(json.dumps(x) for x in out) + "\n"

    monkeypatch.setattr(proto, "call", lambda *a, **k: Reply())
    results = list(proto.results(BatchStatus("completed", True, 3, 3,
                                             {"output_file_id": "f1"})))
    assert [(r.custom_id, r.body is not None) for r in results] == \
        [("a", True), ("b", False), ("c", False)]
    assert "batch_expired" in results[2].error
