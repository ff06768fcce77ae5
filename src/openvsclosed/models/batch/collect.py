"""A job's uncached requests as provider batches: journal, reserve, submit, wait, collect.

Every request body is the one a live call sends, and its custom id is the live response
cache's key, so cached answers cost nothing and a later live run pays nothing for batch answers.
Money: the budget reserves each batch's worst case at the batch price before it is created and
settles it from the usage the provider reports per line (errored and expired lines cost $0 and
go again in a new batch, up to `MAX_ROUNDS`). A run killed while waiting leaves its reservation
in the ledger, where the budget counts a dead run's reservation as paid; the run that collects
the batch then corrects the ledger to what the results say was billed.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from openvsclosed.budget import alive, holder
from openvsclosed.models.batch.journal import (
    BatchEntry,
    Journal,
    request_set_id,
    state_line,
)
from openvsclosed.models.batch.protocol import BatchApiError, BatchStatus, CreationUnknown
from openvsclosed.models.batchwait import BatchPending

MAX_ROUNDS = 3
"""Submissions of the same request set before its still-failing requests fail the job."""
POLL_S = 5.0
POLL_MAX_S = 300.0
MAX_WAIT_S = 26 * 3600.0
"""Longer than any provider's 24-hour window: a batch still open after it is left for later."""
LOG = logging.getLogger("openvsclosed.batch")


class BatchCollector:
    """Answers for one model's requests through its provider's batch protocol."""

    def __init__(self, lm: Any, protocol_name: str, *, wait: bool, batch_dir: Path | None,
                 prices: tuple[float | None, float | None],
                 poll_s: float | None = None, poll_max_s: float | None = None) -> None:
        self.lm, self.protocol_name, self.wait = lm, protocol_name, wait
        self._protocol: Any = None
        self.batch_dir = Path(batch_dir) if batch_dir else None
        list_in, list_out = lm.prices
        self.prices = (prices[0] if prices[0] is not None else list_in,
                       prices[1] if prices[1] is not None else list_out)
        self.poll_s = poll_s if poll_s is not None else float(
            os.environ.get("OVC_BATCH_POLL_S", POLL_S))
        self.poll_max_s = poll_max_s if poll_max_s is not None else float(
            os.environ.get("OVC_BATCH_POLL_MAX_S", POLL_MAX_S))
        self._errors: list[str] = []

    @property
    def protocol(self) -> Any:
        """The provider's protocol, built on first use (its headers read the key then)."""
        if self._protocol is None:
            from openvsclosed.models.batch import protocol_for

            lm = self.lm
            self._protocol = protocol_for(
                self.protocol_name, str(lm.base_url), str(lm.model), dict(lm.header),
                timeout=lm.timeout, verify=lm.verify_certificate, attempts=lm.attempts,
                backoff_s=lm.backoff_s, max_backoff_s=lm.max_backoff_s)
        return self._protocol

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        """Dollars at the batch price (the list price where no batch price is known)."""
        price_in, price_out = self.prices
        return (tokens_in * (price_in or 0.0) + tokens_out * (price_out or 0.0)) / 1e6

    def answer(self, payloads: list[dict]) -> list[dict]:
        """The reply body for each payload, in order: cached, collected, or sent and awaited."""
        keys = [self.lm.request_key(p) for p in payloads]
        by_key = dict(zip(keys, payloads, strict=True))
        bodies = {key: hit for key in by_key if (hit := self._cached(key, by_key[key]))}
        if len(bodies) < len(by_key):
            if self.batch_dir is None:
                raise BatchApiError("batch mode needs a results directory for its journal")
            path = self.batch_dir / f"{request_set_id(keys)}.json"
            journal = self._journal(path)
            with journal.locked() as mine:
                if not mine:
                    raise BatchPending("another run is collecting this job's batches",
                                       [state_line(journal.provider, e)
                                        for e in journal.open_entries()])
                self._run(self._journal(path), by_key, bodies)
        return [bodies[key] for key in keys]

    def _journal(self, path: Path) -> Journal:
        return Journal.load_or_new(path, provider=self.protocol_name, model=str(self.lm.model),
                                   endpoint=str(self.lm.base_url))

    def _cached(self, key: str, payload: dict) -> dict | None:
        cache = self.lm.cache
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            tokens_in, tokens_out = self.lm._usage(hit, payload)
            self.lm.meter.add(cached=1, input_tokens=tokens_in, output_tokens=tokens_out,
                              cost_usd=self.lm._cost(tokens_in, tokens_out))
        return hit

    def _elsewhere(self, journal: Journal) -> tuple[set[str], list[str], set[str]]:
        """What this model's other journals hold: waiting requests, their lines, batch ids.

        Another --limit or task selection makes another journal; its open batches carry
        requests already paid for, and every id named anywhere is off limits to `find`.
        """
        waiting: set[str] = set()
        lines: list[str] = []
        known: set[str] = set()
        for path in sorted(self.batch_dir.glob("*.json")) if self.batch_dir else []:
            other = journal if path == journal.path else self._journal(path)
            known |= {str(e.batch_id) for e in other.entries if e.batch_id}
            if other is not journal:
                for entry in other.open_entries():
                    waiting |= set(entry.custom_ids)
                    lines.append(state_line(other.provider, entry))
        return waiting, lines, known

    def _run(self, journal: Journal, by_key: dict[str, dict], bodies: dict[str, dict]) -> None:
        while True:
            waiting, lines, known = self._elsewhere(journal)
            self._resolve_unknown(journal, known)
            need = [k for k in by_key if k not in bodies and k not in journal.covered()]
            if set(need) & waiting:  # paid for already: collect that batch, never send it twice
                raise BatchPending(
                    f"{len(set(need) & waiting)} of these requests wait in a batch another run "
                    "submitted with other settings (another --limit or task selection); run "
                    "that command again to collect it first", lines)
            submitted = False
            if need:
                if journal.rounds >= MAX_ROUNDS:
                    journal.rounds = 0  # a later run tries them afresh
                    journal.save()
                    raise BatchApiError(f"{len(need)} requests still failed after {MAX_ROUNDS} "
                                        f"{self.protocol_name} batches; last errors: "
                                        f"{'; '.join(self._errors[-3:]) or 'none reported'}")
                self._submit(journal, need, by_key)
                submitted = True
            if not journal.open_entries():
                if journal.rounds:
                    journal.rounds = 0  # every request answered: a forced re-run starts afresh
                    journal.save()
                return
            if submitted and not self.wait:
                raise self._pending(journal)
            self._await(journal, by_key, bodies)

    def _pending(self, journal: Journal) -> BatchPending:
        entries = journal.open_entries()
        count = sum(len(e.custom_ids) for e in entries)
        return BatchPending(  # the run's job line adds how to collect them
            f"{count} requests wait in {len(entries)} {journal.provider} batch(es)",
            [state_line(journal.provider, e) for e in entries])

    def _resolve_unknown(self, journal: Journal, known: set[str]) -> None:
        """Find batches a killed run created but never journaled; drop those never created.

        A batch some journal already names is never claimed again (two jobs of one size could
        otherwise take each other's batch and pay twice).
        """
        for entry in journal.entries:
            if entry.state != "submitting":
                continue
            found = self.protocol.find(entry, exclude=known)
            if found:
                entry.batch_id, entry.state = found, "submitted"
            else:
                entry.state = "abandoned"
                self._settle(entry, 0.0)
            journal.save()

    def _submit(self, journal: Journal, need: list[str], by_key: dict[str, dict]) -> None:
        """Reserve every chunk's worst case, then journal and create each batch."""
        from openvsclosed.budget import BudgetExceeded

        chunks = self.protocol.chunks([(k, by_key[k]) for k in need])
        worst = [sum(self.cost(*self.lm._worst_case_tokens(p)) for _, p in c) for c in chunks]
        held: list[float] = []
        try:
            for amount in worst:
                self.lm.budget.reserve(amount)
                held.append(amount)
        except BudgetExceeded:
            for amount in held:
                self.lm.budget.settle(amount, 0.0)
            raise
        journal.rounds += 1
        unjournaled = list(zip(chunks, worst, strict=True))
        try:
            while unjournaled:
                self._submit_one(journal, *unjournaled[0], unjournaled)
        finally:  # chunks never journaled were never created: their reservations go back
            for _, amount in unjournaled:
                self.lm.budget.settle(amount, 0.0)

    def _submit_one(self, journal: Journal, chunk: list, amount: float,
                    unjournaled: list) -> None:
        """Journal one chunk (it then owns its reservation), then create its batch."""
        entry = BatchEntry([k for k, _ in chunk], reserved_usd=amount, holder=holder())
        journal.entries.append(entry)
        try:
            journal.save()  # journal first: nothing is created that the journal does not name
        except BaseException:
            journal.entries.remove(entry)
            raise
        unjournaled.pop(0)
        try:
            self.protocol.submit(chunk, entry, journal.save)
        except CreationUnknown as exc:
            journal.save()
            raise BatchApiError(f"{exc}; the batch may exist: the next run looks it up by "
                                "its journal entry before sending anything again") from None
        except BatchApiError:
            entry.state = "abandoned"  # refused outright: nothing was created or billed
            journal.save()
            self._settle(entry, 0.0)
            raise
        entry.state = "submitted"
        journal.save()
        LOG.info("submitted %s", state_line(journal.provider, entry))

    def _await(self, journal: Journal, by_key: dict[str, dict], bodies: dict[str, dict]) -> None:
        """Poll open batches with backoff until each has ended, collecting as they end."""
        delay = self.poll_s
        first = True
        deadline = time.monotonic() + MAX_WAIT_S
        while journal.open_entries():
            for entry in journal.open_entries():
                status = self.protocol.status(str(entry.batch_id))
                entry.status, entry.done = status.status, status.done
                if status.ended:
                    self._collect(journal, entry, status, by_key, bodies)
                else:
                    LOG.info("%s", state_line(journal.provider, entry))
            journal.save()
            if not journal.open_entries():
                return
            if (not self.wait and first) or time.monotonic() > deadline:
                raise self._pending(journal)  # a batch past its window: a later run looks again
            first = False
            time.sleep(delay)
            delay = min(self.poll_max_s, delay * 2)

    def _collect(self, journal: Journal, entry: BatchEntry, status: BatchStatus,
                 by_key: dict[str, dict], bodies: dict[str, dict]) -> None:
        """Cache, meter and settle an ended batch's answers; its failed lines stay missing."""
        from openvsclosed.models.wire import read_replies, token_usage

        mine = set(entry.custom_ids)
        paid = 0.0
        style = self.lm.wire.style if self.lm.wire is not None else self.lm._style
        for result in self.protocol.results(status):
            payload = by_key.get(result.custom_id)
            if result.custom_id not in mine or payload is None:
                continue
            if result.body is None:
                self._errors.append(f"{result.custom_id[:12]}: {result.error}")
                continue
            body = self.lm._without_key(result.body)
            tokens_in, tokens_out = self.lm._usage(body, payload)
            cost = self.cost(tokens_in, tokens_out)
            paid += cost
            self.lm.meter.add(requests=1, input_tokens=tokens_in, output_tokens=tokens_out,
                              reasoning_tokens=token_usage(body)[2], cost_usd=cost,
                              spent_usd=cost)
            withheld = any(r.status == "refused" for r in read_replies(body, style))
            if self.lm.cache is not None and not withheld and not self.lm.private:
                self.lm.cache.put(result.custom_id, body)  # `private`: keep no reply text
            bodies[result.custom_id] = body
        entry.state, entry.paid_usd = "collected", round(paid, 8)
        journal.save()  # before settling: a kill in between over-counts, never under-counts
        self._settle(entry, paid)
        LOG.info("collected %s ($%.6f)", state_line(journal.provider, entry), paid)

    def _settle(self, entry: BatchEntry, actual: float) -> None:
        """Turn a batch's reservation into what its results cost, whoever reserved it."""
        budget = self.lm.budget
        if entry.holder == holder():
            budget.settle(entry.reserved_usd, actual)
        elif budget.root is None or alive(entry.holder):
            budget.settle(0.0, actual)  # that reservation is another process's to release
        else:
            from openvsclosed.budget import read_ledger

            # the ledger counts a dead run's reservation as paid (at its next read, if not yet):
            # correct it to the bill, never below what the ledger holds
            ledger = read_ledger(budget.root)
            floor = -(ledger["spent_usd"] + ledger["reserved"].get(entry.holder, 0.0))
            budget.settle(0.0, max(actual - entry.reserved_usd, floor))
        entry.reserved_usd, entry.holder = 0.0, holder()
