"""Reciprocal-rank fusion of the dense and BM25 lists: exact values, worked out by hand."""

from __future__ import annotations

import pytest

from qa.retriever import reciprocal_rank_fusion


def test_reciprocal_rank_fusion_exact_values():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=60)
    assert fused == pytest.approx({1: 1 / 61 + 1 / 62, 2: 1 / 62, 3: 1 / 63 + 1 / 61})
    # k changes the values: k=0 gives 1/rank
    assert reciprocal_rank_fusion([[7, 8]], k=0) == pytest.approx({7: 1.0, 8: 0.5})
    # default k is 60
    assert reciprocal_rank_fusion([[5]]) == pytest.approx({5: 1 / 61})


def test_reciprocal_rank_fusion_ids_in_both_lists_win():
    dense = [10, 11, 12, 13, 14]
    lexical = [20, 21, 22, 14, 13]
    fused = reciprocal_rank_fusion([dense, lexical])
    best = sorted(fused, key=lambda c: -fused[c])
    # 13 and 14 are in both lists, even near the bottom: 1/64 + 1/65 > 1/61
    assert set(best[:2]) == {13, 14}
    assert all(fused[c] < min(fused[13], fused[14]) for c in fused if c not in (13, 14))


def test_reciprocal_rank_fusion_empty():
    assert reciprocal_rank_fusion([]) == {}
    assert reciprocal_rank_fusion([[], []]) == {}
    assert reciprocal_rank_fusion([[], [4]]) == pytest.approx({4: 1 / 61})
