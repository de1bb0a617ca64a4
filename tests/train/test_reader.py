"""qa.train.reader: training examples, features, shared normalisation and the training plan, on a tiny file."""

from __future__ import annotations

import random

import pytest

from qa.train.reader import TrainConfig, build_examples, featurize, train
from tests.squad_fixture import ARTICLES, tiny_mined, write_tiny_squad


def test_examples_include_unanswerable_pairs_from_the_same_article(tmp_path):

    from transformers import AutoTokenizer

    from qa.train.loop import default_base_model

    cfg = TrainConfig(train_file=str(write_tiny_squad(tmp_path / "t.json")), out_dir=str(tmp_path), neg_ratio=1.0)
    ex = build_examples(cfg, random.Random(0))
    negatives = [e for e in ex if e.answer_start < 0]
    assert negatives and len(ex) - len(negatives) == sum(len(q) for ps in ARTICLES.values() for _, q in ps)
    for e in negatives:
        assert e.question not in e.context
    feats = featurize(ex, AutoTokenizer.from_pretrained(default_base_model()), cfg)
    tok = AutoTokenizer.from_pretrained(default_base_model())
    for f, e in zip(feats, ex, strict=True):
        if f.start:  # answerable: the target tokens spell the answer
            assert tok.decode(f.ids[f.start : f.end + 1]).replace(" ", "") == e.answer.lower().replace(" ", "")


def test_shared_norm_reads_a_question_with_its_distractors_in_one_batch_and_one_softmax(tmp_path):
    """Under --shared-norm each question brings its hard distractors, its windows stay in one batch,
    and the loss is -log of the right span under one softmax over all of them, so a distractor that
    outscores the right passage costs more; a group without an answer adds nothing."""
    import math

    import torch
    from transformers import AutoTokenizer

    from qa.train.loop import default_base_model
    from qa.train.reader import bucketed_batches, feature_units, shared_norm_loss

    data_file, mined, data = tiny_mined(tmp_path)
    cfg = TrainConfig(
        train_file=str(data_file), out_dir=str(tmp_path / "run"), mined=str(mined), shared_norm=1.0, group_distractors=2, swap_ratio=1.0
    )
    ex = build_examples(cfg, random.Random(0))
    for q in data.questions:
        mine = [e for e in ex if e.group == q.id]
        assert [e.answer_start >= 0 for e in mine].count(True) == 1 and len(mine) == 3
        assert all(e.question == q.question for e in mine)
    assert sum(e.group.endswith("/swapped") for e in ex) == 2
    feats = featurize(ex, AutoTokenizer.from_pretrained(default_base_model()), cfg)
    units = feature_units(feats, grouped=True)
    assert sorted(j for u in units for j in u) == list(range(len(feats)))
    for batch in bucketed_batches(feats, units, 4, random.Random(0)):
        for j in batch:  # every window of its question is in the same batch
            assert all(k in batch for k in range(len(feats)) if feats[k].group == feats[j].group)

    context = torch.tensor([[False, True, True, True], [False, True, True, True], [False, True, True, True]])
    starts, ends = torch.tensor([2, 0, 0]), torch.tensor([3, 0, 0])
    right_first = torch.tensor([[5.0, 0.0, 3.0, 0.0], [5.0, 1.0, 0.0, 0.0], [9.0, 0.0, 0.0, 0.0]])
    loss = shared_norm_loss(right_first, right_first, context, starts, ends, [[0, 1], [2]])
    by_hand = -(3.0 - math.log(math.exp(3.0) + math.exp(1.0) + 4))  # start: right token 3.0 among six context tokens
    by_hand_end = -(0.0 - math.log(math.exp(3.0) + math.exp(1.0) + 4))
    assert abs(loss.item() - (by_hand + by_hand_end) / 2) < 1e-5
    distractor_first = right_first.clone()
    distractor_first[1, 2] = 6.0
    assert shared_norm_loss(distractor_first, distractor_first, context, starts, ends, [[0, 1]]) > loss
    assert shared_norm_loss(right_first, right_first, context, starts, ends, [[1], [2]]).item() == 0.0


def test_shared_norm_enters_the_training_loss_and_needs_mined_negatives(tmp_path):
    """The loss that training steps on (`batch_loss`) adds W × the shared term: twice W, twice the
    difference from the per-window loss alone; a shared-norm run trains end to end."""
    import dataclasses

    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from qa.train.loop import default_base_model
    from qa.train.reader import batch_loss

    data_file, mined, _ = tiny_mined(tmp_path)
    cfg = TrainConfig(
        train_file=str(data_file),
        out_dir=str(tmp_path / "run"),
        mined=str(mined),
        shared_norm=1.0,
        max_steps=2,
        batch_size=4,
        lr=1e-5,
        max_length=128,
        bf16=False,
    )
    tok = AutoTokenizer.from_pretrained(default_base_model())
    batch = featurize(build_examples(cfg, random.Random(0)), tok, cfg)[:12]
    model = AutoModelForQuestionAnswering.from_pretrained(default_base_model()).eval()
    with torch.no_grad():
        per_window, once, twice = (
            batch_loss(model, tok, batch, dataclasses.replace(cfg, shared_norm=w), torch.device("cpu")).item() for w in (0.0, 1.0, 2.0)
        )
    assert once - per_window > 0.1 and abs((twice - per_window) - 2 * (once - per_window)) < 1e-4
    final = train(cfg)
    log = (tmp_path / "run" / "train.log").read_text()
    assert "step 2/2" in log and (final / "config.json").exists()
    with pytest.raises(ValueError, match="needs --mined"):
        train(TrainConfig(train_file=str(data_file), out_dir=str(tmp_path / "plain"), shared_norm=1.0))


def test_a_training_plan_is_as_long_as_its_batches_when_an_epoch_comes_out_shorter():
    """Under shared normalisation a question's windows share a batch, so the second epoch can have
    fewer batches than the first; the plan (one batch a step) must end where they run out, not index
    past them (a 2-epoch shared-norm run would fail on its last steps)."""
    from qa.train.reader import Feature, training_plan

    feats = [Feature([101] + [7] * (5 + q % 9) + [102], 0, 0, f"q{q}") for q in range(60) for _ in range(1 + q % 4)]
    cfg = TrainConfig(train_file="", out_dir="", shared_norm=1.0, batch_size=4, epochs=2)
    shorter = 0
    for seed in range(40):
        plan, per_epoch = training_plan(feats, cfg, random.Random(seed))
        assert len(plan) <= 2 * per_epoch and all(0 <= j < len(feats) for batch in plan for j in batch)
        for batch in plan:  # whole questions only
            groups = {feats[j].group for j in batch}
            assert sum(1 for f in feats if f.group in groups) == len(batch)
        shorter += len(plan) < 2 * per_epoch
    assert shorter  # the case arises, and the plan is cut to it


def test_a_shared_norm_run_whose_second_epoch_comes_out_shorter_trains_its_plan_to_the_end(tmp_path):
    """`train` runs the plan it made, step for step: with a seed whose second epoch has fewer batches, the
    run ends at the plan's last batch (not at twice the first epoch's count, past the batches)."""
    import torch
    from transformers import AutoTokenizer

    from qa.train.loop import default_base_model
    from qa.train.reader import training_plan

    data_file, mined, _ = tiny_mined(tmp_path)
    tok = AutoTokenizer.from_pretrained(default_base_model())
    for seed in range(100):  # the seed is found, not hard-coded: the plan is what train itself will make
        cfg = TrainConfig(
            train_file=str(data_file),
            out_dir=str(tmp_path / "run"),
            mined=str(mined),
            shared_norm=1.0,
            epochs=2,
            batch_size=6,
            seed=seed,
            max_length=128,
            lr=1e-5,
            bf16=False,
        )
        rng = random.Random(seed)  # as train draws: the examples, then the plan
        plan, per_epoch = training_plan(featurize(build_examples(cfg, rng), tok, cfg), cfg, rng)
        if len(plan) < 2 * per_epoch:
            break
    assert len(plan) < 2 * per_epoch, "no seed in 100 gives a shorter second epoch"
    train(cfg)
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)["step"] == len(plan)
    assert f"step {len(plan)}/{len(plan)}" in (tmp_path / "run" / "train.log").read_text()
