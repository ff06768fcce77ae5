"""Statistics against cases computed by hand."""

import pandas as pd
import pytest

from openvsclosed.report.stats import (
    model_summary,
    normalized,
    paired_bootstrap,
    significant,
    unpaired_ci,
)


def test_unpaired_interval_by_hand():
    low, high = unpaired_ci(10.0, 3.0, 4.0)  # se of the difference = 5
    assert (low, high) == pytest.approx((10 - 1.959964 * 5, 10 + 1.959964 * 5))
    assert unpaired_ci(1.0, None, 2.0) is None


def test_paired_bootstrap_constant_difference_has_no_width():
    mean, low, high = paired_bootstrap([0, 0, 1, 1], [1, 1, 2, 2])
    assert (mean, low, high) == (1.0, 1.0, 1.0)


def test_paired_bootstrap_mean_and_symmetric_case():
    a, b = [0.0] * 50 + [1.0] * 50, [1.0] * 50 + [0.0] * 50  # b - a = +1 or -1, mean 0
    mean, low, high = paired_bootstrap(a, b, iters=4000, seed=1)
    assert mean == 0.0 and low < 0 < high
    assert high - low == pytest.approx(2 * 1.96 * 0.1, rel=0.15)  # sd 1, n 100
    with pytest.raises(ValueError):
        paired_bootstrap([], [])


def test_significance():
    assert significant((0.1, 2.0)) and significant((-3, -1))
    assert not significant((-1, 1)) and significant(None) is None


def test_normalization_by_hand():
    assert normalized(0.625, 0.25) == pytest.approx(0.5)
    assert normalized(0.2, 0.25) == 0.0  # below chance floors at zero
    assert normalized(0.7, 0.0) == pytest.approx(0.7)


def test_model_summary_by_hand():
    rows = [("a", "open", "mmlu", 0.625), ("b", "closed", "mmlu", 0.85), ("c", "open", "mmlu", 0.4),
            ("a", "open", "gsm8k", 0.5), ("b", "closed", "gsm8k", 0.5)]
    frame = pd.DataFrame([{"model": m, "label": m.upper(), "access": acc, "task": t,
                           "score": s, "source": "measured"} for m, acc, t, s in rows])
    summary = model_summary(frame).set_index("model")
    # a: mmlu normalized 0.5, gsm8k 0.5 -> 50 points; wins: mmlu beats c only (1/2), gsm8k tie (1/2)
    assert summary.loc["a", "mean_normalized"] == pytest.approx(50.0)
    assert summary.loc["a", "win_rate"] == pytest.approx(0.5)
    # b: mmlu (0.85-.25)/.75 = 0.8, gsm8k 0.5 -> 65; wins: 2/2 on mmlu, tie on gsm8k -> 0.75
    assert summary.loc["b", "mean_normalized"] == pytest.approx(65.0)
    assert summary.loc["b", "win_rate"] == pytest.approx(0.75)
    assert summary.loc["c", "win_rate"] == 0.0 and summary.loc["c", "tasks"] == 1
    assert summary.index[0] == "b"  # sorted by mean normalized score
