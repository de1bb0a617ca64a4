"""qa.train.recover and qa.train.shards: torch weights from the shipped ONNX reader, and what training changed in small files."""

from __future__ import annotations

from qa.reader import ExtractiveReader
from qa.train.reader import TrainConfig, train
from tests.squad_fixture import write_tiny_squad


def test_the_shipped_onnx_reader_recovers_into_torch_weights_that_train_on(tmp_path):
    """reader.onnx is in git, torch checkpoints are not: its dequantized weights read as the
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
            out = model(
                input_ids=torch.tensor([e.ids]), attention_mask=torch.tensor([e.attention_mask]), token_type_ids=torch.tensor([e.type_ids])
            )
        for a, b in ((onnx_start[0], out.start_logits[0].numpy()), (onnx_end[0], out.end_logits[0].numpy())):
            assert a.argmax() == b.argmax() and np.corrcoef(a, b)[0, 1] > 0.99
    data = write_tiny_squad(tmp_path / "tiny.json")
    cfg = TrainConfig(train_file=str(data), out_dir=str(tmp_path / "run"), base_model=str(hf), max_steps=2, batch_size=4, lr=1e-5)
    final = train(cfg)
    assert "step 2/2" in (tmp_path / "run" / "train.log").read_text() and (final / "config.json").exists()


def test_what_training_changed_comes_back_in_small_shards_and_unpacks_onto_its_start(tmp_path):
    """What training changed comes back in files of a bounded size: the frozen vocabulary matrix stays behind (both ends
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
