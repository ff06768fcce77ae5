"""KV caches for our batched forwards: a prefix shared by rows, caches merged, decoding in place.

transformers' `DynamicCache` grows by `torch.cat` at every decoding step, copying every layer's
whole cache each time (30% of a SmolLM2 decode step at 32 rows on CPU). `growing_cache` keeps
each layer in a buffer with room for the tokens still to come and hands the model views of it:
the same keys and values, no copy per step. The helpers here read and build caches on
transformers before and after 4.56 (`cache.layers` vs `key_cache` / `value_cache`). This module
imports nothing from openvsclosed, so a bench script can load the fast paths by file path.
"""

from __future__ import annotations

from typing import Any

import torch

Layers = list[tuple[torch.Tensor, torch.Tensor]]


def cache_layers(cache: Any) -> Layers:
    """A cache's (keys, values) per layer, each shaped (rows, heads, tokens, head dim)."""
    if hasattr(cache, "layers"):
        return [(layer.keys, layer.values) for layer in cache.layers
                if getattr(layer, "keys", None) is not None]
    return list(zip(cache.key_cache, cache.value_cache, strict=True))


def expanded_cache(layers: Layers, rows: int = 1) -> Any:
    """A fresh `DynamicCache` holding `layers` under `rows` rows (expanded views, not copies)."""
    from transformers import DynamicCache

    cache = DynamicCache()
    for i, (k, v) in enumerate(layers):
        cache.update(k.expand(rows, -1, -1, -1), v.expand(rows, -1, -1, -1), i)
    return cache


def merged_right_aligned(parts: list[Layers]) -> tuple[Layers, list[int]]:
    """Caches of row groups stacked into one, each row's tokens moved to the right edge.

    Left of a shorter group's tokens is zeros (masked out by the caller); returns the layers
    and each group's width, so the caller can build the matching attention mask.
    """
    widths = [part[0][0].shape[2] for part in parts]
    width, rows = max(widths), sum(part[0][0].shape[0] for part in parts)
    merged: Layers = []
    for layer in range(len(parts[0])):
        k0 = parts[0][layer][0]
        keys = k0.new_zeros((rows, k0.shape[1], width, k0.shape[3]))
        values = torch.zeros_like(keys)
        start = 0
        for part, w in zip(parts, widths, strict=True):
            k, v = part[layer]
            keys[start:start + k.shape[0], :, width - w:] = k
            values[start:start + k.shape[0], :, width - w:] = v
            start += k.shape[0]
        merged.append((keys, values))
    return merged, widths


def growing_cache(layers: Layers, room: int) -> Any:
    """A cache holding `layers` with `room` more tokens per layer that decoding writes in place."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    class GrowingLayer(DynamicLayer):
        """`DynamicLayer` whose keys and values are views of a buffer; `update` copies no cache."""

        def fill(self, keys: torch.Tensor, values: torch.Tensor, room: int) -> None:
            rows, heads, n, dim = keys.shape
            self.lazy_initialization(keys, values)
            self.key_buffer = keys.new_empty((rows, heads, n + room, dim))
            self.value_buffer = values.new_empty((rows, heads, n + room, dim))
            self.key_buffer[:, :, :n] = keys
            self.value_buffer[:, :, :n] = values
            self.length = n
            self._views()

        def _views(self) -> None:
            self.keys = self.key_buffer[:, :, :self.length]
            self.values = self.value_buffer[:, :, :self.length]

        def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any,
                   **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
            n = self.length + key_states.shape[2]
            if n > self.key_buffer.shape[2]:  # out of room: grow as DynamicLayer would
                self.fill(torch.cat([self.keys, key_states], dim=-2),
                          torch.cat([self.values, value_states], dim=-2), 64)
                return self.keys, self.values
            self.key_buffer[:, :, self.length:n] = key_states
            self.value_buffer[:, :, self.length:n] = value_states
            self.length = n
            self._views()
            return self.keys, self.values

        def batch_select_indices(self, indices: torch.Tensor) -> None:
            self.key_buffer = self.key_buffer[indices]
            self.value_buffer = self.value_buffer[indices]
            self._views()

    cache = DynamicCache()
    grown = []
    for k, v in layers:
        layer = GrowingLayer()
        layer.fill(k, v, room)
        grown.append(layer)
    cache.layers = grown
    return cache
