"""One HTTP request to a chat API, done right: retries, Retry-After, pacing, pinned egress.

The mixin `Transport` is the wire under `ResilientAPI`: it knows statuses, backoff and which
attempts may have been billed, and it keeps keys and a private task's replies out of every
error text. Apart from the API classes so the batch protocols can reuse the same rules.
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import time
from typing import Any

from openvsclosed.models.egress import EgressRefused, pin_loopback
from openvsclosed.models.keys import scrub_secrets

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
RETRY_AFTER_CAP_S = 600.0
"""The longest Retry-After honoured; a server asking for more is treated as down."""
ERROR_TEXT_CHARS = 200
"""How much of a server's error reply a failure keeps (after keys are scrubbed out of it)."""
WITHHELD = "the reply is not shown or stored: it may quote the rows of a private task"


class ApiError(Exception):
    """A request that failed for good (after retries, or at once for 4xx): the job fails."""


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Transport:
    """Posting with retries for a class that has base_url, header, timeout and attempts."""

    private: bool = False
    """Set per job (`for_job`): no reply cached, no error reply kept or shown."""
    loopback_only: bool = False
    """Set per job (`for_job`): requests go to the pinned loopback address only."""

    private_rows: bool = False
    """Set per job (`for_job`): the task is private; its rows never go into a provider batch."""

    def for_job(self, private: bool, loopback_only: bool, private_rows: bool = False) -> None:
        """The runner says, before each job, how private its rows are."""
        self.private, self.loopback_only = private, loopback_only
        self.private_rows = private_rows

    @property
    def _private_job(self) -> bool:
        return bool(self.private or self.loopback_only)

    def _secrets(self) -> dict[str, str]:
        raw = os.environ.get(self.api_key_env or "", "") if self.api_key_env else ""
        return {self.api_key_env: raw} if self.api_key_env and raw.strip() else {}

    def _without_key(self, body: Any) -> Any:
        """The reply with our key removed, should a server echo it (never cached or stored)."""
        secrets = self._secrets()
        if not secrets:
            return body
        text = json.dumps(body)
        cleaned = scrub_secrets(text, secrets)
        return json.loads(cleaned) if cleaned != text else body

    def _error_text(self, response: Any) -> str:
        """What a failure keeps of an error reply: keys scrubbed out first, then cut."""
        if self._private_job:
            return f"HTTP {response.status_code} from {self.base_url}: {WITHHELD}"
        text = scrub_secrets(response.text, self._secrets())
        return f"HTTP {response.status_code} from {self.base_url}: {text[:ERROR_TEXT_CHARS]}"

    def _post(self, payload: dict) -> Any:
        """One HTTP attempt; a private task's goes only to its pinned loopback address."""
        import requests

        if not self.loopback_only:
            return requests.post(self.base_url, json=payload, headers=self.header,
                                 timeout=self.timeout, verify=self.verify_certificate)
        from openvsclosed.models.egress import pinned_session, private_post

        with self._pin_lock:  # resolved once per model: every request goes to that address
            if self._pinned is None:
                pinned = pin_loopback(str(self.base_url))
                self._pinned = (pinned, pinned_session(pinned))
        pinned, session = self._pinned
        return private_post(session, pinned, json=payload, headers=self.header,
                            timeout=self.timeout, verify=self.verify_certificate)

    def _post_with_retries(self, payload: dict, unknown: list[str]) -> dict:
        """The reply, retrying; attempts that may have been billed go into `unknown`.

        An attempt that ended without a reply after the request went out (a read timeout, a
        dropped connection) may have been billed.

        The settlement rule (README, "Budget"): an attempt answered with an error status is
        settled at $0 (providers do not bill a refused request); one whose outcome is unknown
        is settled at the request's worst case, as a killed process's reservation is.
        """
        import requests

        last = "no attempt made"
        for attempt in range(self.attempts):
            self._wait_for_slot()
            wait = None
            try:
                response = self._post(payload)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = f"{type(exc).__name__} talking to {self.base_url}"
                if not _never_sent(exc):
                    unknown.append(type(exc).__name__)
            else:
                if 200 <= response.status_code < 300:
                    return response.json()
                last = self._error_text(response)
                if 300 <= response.status_code < 400 and self.loopback_only:
                    raise EgressRefused(f"HTTP {response.status_code} from {self.base_url}: a "
                                        "redirect, not followed for a private task (its rows "
                                        "go only to the address the URL names)")
                if response.status_code not in RETRY_STATUSES:
                    raise ApiError(last)
                wait = retry_after_seconds(response.headers.get("Retry-After"))
            if attempt + 1 < self.attempts:
                if wait is None:
                    wait = min(self.max_backoff_s, self.backoff_s * 2 ** attempt
                               * random.uniform(0.5, 1.5))
                self.meter.add(retries=1)
                # a server's Retry-After is honoured in full (up to 10 minutes): retrying
                # sooner only earns another 429; our own backoff stays under max_backoff_s
                time.sleep(min(wait, RETRY_AFTER_CAP_S))
        raise ApiError(f"gave up after {self.attempts} attempts; last: {last}")

    def _wait_for_slot(self) -> None:
        if not self._interval:
            return
        with self._slot_lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._interval
        time.sleep(max(0.0, slot - now))


def _never_sent(exc: Exception) -> bool:
    """Whether a connection error happened before the request left (so nothing was billed)."""
    import requests

    if isinstance(exc, requests.ConnectTimeout):
        return True
    text = repr(exc)
    return "NewConnectionError" in text or "Failed to establish a new connection" in text
