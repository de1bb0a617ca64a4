"""qa.train.loop: a time budget ends the learning-rate schedule where the run fits."""

from __future__ import annotations

from qa.train.reader import TrainConfig, train
from tests.squad_fixture import write_tiny_squad


def test_a_time_budget_ends_the_schedule_where_the_run_fits(tmp_path):
    """A run with a time budget: the schedule's end follows the measured pace (both ways), and a
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
