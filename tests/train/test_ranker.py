"""qa.train.ranker: a ranker fitted on a hand-written SQuAD file, indexed by the product, that the runtime ranker reads."""

from __future__ import annotations

import json

import numpy as np

from qa.ranker import FEATURES, FeatureRanker


def test_trainer_writes_a_model_the_ranker_reads(trained_ranker):
    config = json.loads(trained_ranker.read_text())
    assert config["features"] == list(FEATURES) and set(config["weights"]) == set(FEATURES)
    assert config["candidates"] == 4 and config["trained_on"]["questions"] == 6 and config["trained_on"]["articles"] == 2
    for name in ("fusion", "ranker_leave_one_article_out", "ranker_fitted_questions"):
        assert 0 <= config["recall"][name]["@1"] <= config["recall"][name]["@5"] <= 100
    ranker = FeatureRanker(trained_ranker)
    ranker.warm_up()
    assert ranker.candidates == 4 and np.isfinite(ranker.weights).all()
