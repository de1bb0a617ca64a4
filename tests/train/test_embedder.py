"""qa.train.embedder: fine-tuning the embedder on a tiny file, and the overlay the runtime embedder loads."""

from __future__ import annotations

from tests.squad_fixture import write_tiny_squad


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
    cfg = dict(
        train_file=str(data_file),
        mined=str(tmp_path / "mined.json"),
        out_dir=str(out),
        questions=0,
        batch_size=4,
        lr=1e-4,
        eval_questions=5,
        save_every=1,
    )
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
