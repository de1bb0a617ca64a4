"""qa.train.export_reader: a trained reader exported to ONNX, quantized, calibrated and read by the runtime reader."""

from __future__ import annotations

import json

from qa.reader import ExtractiveReader
from qa.schema import Passage
from qa.train.export_reader import export_fp32, quantize, write_model_dir
from qa.train.reader import TrainConfig, train
from tests.squad_fixture import ARTICLES, write_tiny_squad


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

    from qa.reader import default_model_dir
    from qa.train.export_reader import PRIOR_KEYS, carried_priors

    shipped = json.loads((default_model_dir() / "reader.json").read_text())
    (tmp_path / "reader.json").write_text(json.dumps(shipped))
    carried = carried_priors(tmp_path)
    assert {k: carried[k] for k in PRIOR_KEYS if k in carried} == {k: shipped[k] for k in PRIOR_KEYS if k in shipped}
    assert carried["ranker_prior"] == shipped["ranker_prior"] and "re-choose" in carried["priors_note"]
    assert carried_priors(tmp_path / "empty") == {}
