"""lm-eval's per-call setup done once per process: its environment report and its templates.

`simple_evaluate` calls `add_env_info` on every call, and that runs torch's `collect_env`
(subprocesses: pip, conda, nvidia-smi, lscpu): 1-3 s on a 2-core machine, paid by every job of
a run. And `utils.apply_template` compiles its Jinja template from the string on every document
(MMLU's 57 subjects: ~170 compiles for one question each). Neither result changes while a
process lives: the first environment report is kept and copied into each later results dict,
and each template string is compiled once. The records are the same.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

_MARK = "_ovc_once"


def setup_once() -> None:
    """Both of the below; idempotent."""
    gather_env_info_once()
    compile_templates_once()


def gather_env_info_once() -> None:
    """Make `lm_eval.evaluator.add_env_info` compute its report on the first call only."""
    import lm_eval.evaluator as evaluator

    inner = evaluator.add_env_info
    if getattr(inner, _MARK, False):
        return
    kept: dict[str, Any] = {}

    def add_env_info(storage: dict[str, Any]) -> None:
        if not kept:
            fresh: dict[str, Any] = {}
            inner(fresh)
            kept.update(fresh)
        storage.update(copy.deepcopy(kept))

    setattr(add_env_info, _MARK, True)
    evaluator.add_env_info = add_env_info


def compile_templates_once() -> None:
    """Make `lm_eval.utils.apply_template` reuse each compiled template."""
    import lm_eval.utils as utils

    if getattr(utils.apply_template, _MARK, False):
        return
    compiled = functools.lru_cache(maxsize=4096)(utils.env.from_string)

    def apply_template(template: str, doc: dict) -> str:
        return compiled(template).render(**doc)

    setattr(apply_template, _MARK, True)
    utils.apply_template = apply_template
