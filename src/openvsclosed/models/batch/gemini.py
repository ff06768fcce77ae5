"""Gemini's batch mode through the endpoint the `gemini` backend already uses.

The backend speaks Google's OpenAI-compatible endpoint
(https://generativelanguage.googleapis.com/v1beta/openai/chat/completions). Since September
2025 that compatibility layer also takes OpenAI's Batch API: files uploaded with purpose
`batch`, batches created with `endpoint: /v1/chat/completions` and `completion_window: 24h`,
polled and read back as OpenAI's are, at half the standard price (Google Developers Blog,
"Gemini Batch API now supports Embeddings and OpenAI Compatibility", 2025-09-08; batch mode:
https://ai.google.dev/gemini-api/docs/batch-mode). So each request goes out with the very body
a live call sends (thinking budget under `extra_body.google` included), rather than translated
into the native `models/{model}:batchGenerateContent` shape, and replies read back as live ones.
"""

from __future__ import annotations

from openvsclosed.models.batch.openai import OpenAIBatches


class GeminiBatches(OpenAIBatches):
    """OpenAI's batch protocol under Google's `/v1beta/openai` root.

    Limits: OpenAI's (50,000 requests, 200 MB a file) for the OpenAI-shaped file; the
    compatibility guide names none of its own, and Gemini's own file limit is larger.
    """

    name = "gemini"
