"""The attention summary: shares of saliency mass by band and by scene label."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from liquid_controller.explain.attention import attention_summary

maps = arrays(np.float64, (6, 9), elements=st.floats(0.0, 1e3, allow_subnormal=False))


@settings(max_examples=60, deadline=None)
@given(saliency=maps, labels=arrays(np.uint8, (6, 9), elements=st.integers(0, 2)))
def test_shares_add_up_and_concentration_is_a_pixel_fraction(saliency, labels):
    summary = attention_summary([saliency], [labels])
    if saliency.sum() == 0:
        assert summary["zero_frames"] == 1 and summary["concentration"] is None
        return
    bands = summary["bands"]
    assert bands["top"] + bands["middle"] + bands["bottom"] == pytest.approx(1.0)
    assert bands["left"] + bands["centre"] + bands["right"] == pytest.approx(1.0)
    assert sum(v["mass"] for v in summary["labels"].values()) == pytest.approx(1.0)
    assert sum(v["area"] for v in summary["labels"].values()) == pytest.approx(1.0)
    assert 1 / saliency.size <= summary["concentration"] <= 0.5 + 1 / saliency.size


def test_uniform_and_focused_maps():
    labels = np.zeros((6, 9), dtype=np.uint8)
    labels[4:, 3:6] = 2  # a marking at the bottom centre
    focused = np.zeros((6, 9))
    focused[5, 4] = 1.0
    uniform = attention_summary([np.ones((6, 9))], [labels])
    assert uniform["concentration"] == pytest.approx(27 / 54)
    assert uniform["labels"]["lane marking"]["mass"] == pytest.approx(6 / 54)
    assert uniform["bands"]["top"] == pytest.approx(1 / 3)
    single = attention_summary([focused, np.zeros((6, 9))], [labels, labels])
    assert single["frames"] == 1 and single["zero_frames"] == 1
    assert single["labels"]["lane marking"] == {"mass": 1.0, "area": pytest.approx(6 / 54)}
    assert single["bands"]["bottom"] == 1.0 and single["concentration"] == pytest.approx(1 / 54)
    assert "labels" not in attention_summary([focused])
