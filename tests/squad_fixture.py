"""A tiny SQuAD-format file written by hand (no SQuAD text), for training and eval smoke runs, and hand-made mined negatives."""

from __future__ import annotations

import json
from pathlib import Path

from qa.squad import SquadFile, load_squad

ARTICLES = {
    "Lighthouse": [
        (
            "The lighthouse at Port Elwyn was built in 1874 by the engineer Thomas Quayle. Its lamp was converted to electricity in 1931.",
            [("Who built the lighthouse at Port Elwyn?", "Thomas Quayle"), ("When was the lamp converted to electricity?", "1931")],
        ),
        (
            "The keeper's cottage has three rooms and a small garden where the keepers grew potatoes and kale.",
            [("What did the keepers grow?", "potatoes and kale")],
        ),
    ],
    "Aurora": [
        (
            "The Aurora research station was founded in 1987 by the glaciologist Ingrid Halvorsen on the Kvitøya ice cap.",
            [("Who founded the Aurora station?", "Ingrid Halvorsen"), ("When was Aurora founded?", "1987")],
        ),
        (
            "Supplies arrive twice a year by the icebreaker Polarstjerna, which the crew calls the red ship.",
            [("What brings supplies to the station?", "the icebreaker Polarstjerna")],
        ),
    ],
}


def write_tiny_squad(path: Path, impossible: bool = False) -> Path:
    data = []
    for title, paras in ARTICLES.items():
        ps = []
        for p_i, (ctx, qas) in enumerate(paras):
            items = []
            for q_i, (q, a) in enumerate(qas):
                item = {"id": f"{title}-{p_i}-{q_i}", "question": q, "answers": [{"text": a, "answer_start": ctx.index(a)}]}
                if impossible:
                    item["is_impossible"] = False
                items.append(item)
            if impossible:
                items.append(
                    {"id": f"{title}-{p_i}-x", "question": "What is the airspeed of a laden swallow?", "answers": [], "is_impossible": True}
                )
            ps.append({"context": ctx, "qas": items})
        data.append({"title": title, "paragraphs": ps})
    path.write_text(json.dumps({"version": "2.0" if impossible else "1.1", "data": data}), encoding="utf-8")
    return path


def tiny_mined(tmp_path: Path) -> tuple[Path, Path, SquadFile]:
    """The tiny file with every other paragraph as each question's hard distractors (hand-made, as mining would)."""
    data_file = write_tiny_squad(tmp_path / "t.json")
    data = load_squad(data_file)
    mined = {
        "holdout_articles": [],
        "swaps": {q.id: q.question.replace("the", "a red") for q in data.questions[:2]},
        "distractors": {q.id: [p for p in data.paragraphs if p != q.paragraph_id] for q in data.questions},
    }
    (tmp_path / "mined.json").write_text(json.dumps(mined))
    return data_file, tmp_path / "mined.json", data
