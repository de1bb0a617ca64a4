"""What a training run changed, in files small enough to copy back from a remote GPU machine, and back again.

Why: a remote GPU machine may return only small files (16 MiB each), and a reader is 90 MB in fp32. Weights that training
left as they were (`--freeze-word-embeddings` keeps the 47 MB vocabulary matrix) need not travel:
both ends rebuild them from the same start (`qa.train.recover` on the reader.onnx in git). The rest
goes in fp16 shards of at most `max_mib`, a tensor too large for one split by rows.

    python -m qa.train.shards pack runs/a/final --base runs/start --out $OUT/a
    python -m qa.train.shards unpack $OUT/a --base runs/start --out runs/a-final
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

_MODEL = "model.safetensors"


def pack(model_dir: Path, base_dir: Path, out: Path, max_mib: float = 15.0) -> list[Path]:
    """fp16 shards (shard0.safetensors, ...) of the tensors in `model_dir` that differ from
    `base_dir`'s, and nothing else (such a machine may bring back 8 files at most; the config and tokenizer are
    the base's); returns the shard files."""
    import torch
    from safetensors.torch import load_file, save_file

    tuned, base = load_file(str(model_dir / _MODEL)), load_file(str(base_dir / _MODEL))
    limit = int(max_mib * 2**20)
    pieces: list[tuple[str, torch.Tensor]] = []
    for name in sorted(tuned):
        t = tuned[name]
        if name in base and torch.equal(t.float(), base[name].float()):
            continue
        t = t.half() if t.is_floating_point() else t
        if t.dim() and t.nbytes > limit:
            rows = max(1, limit // t[0].nbytes)
            pieces += [(f"{name}#{i}", t[i : i + rows].clone()) for i in range(0, t.shape[0], rows)]
        else:
            pieces.append((name, t.clone()))
    out.mkdir(parents=True, exist_ok=True)
    shards: list[Path] = []
    current: dict[str, torch.Tensor] = {}

    def flush() -> None:
        shards.append(out / f"shard{len(shards)}.safetensors")
        save_file(current, str(shards[-1]))
        current.clear()

    for name, t in pieces:
        if current and sum(x.nbytes for x in current.values()) + t.nbytes > limit:
            flush()
        current[name] = t
    if current:
        flush()
    return shards


def unpack(shard_dir: Path, base_dir: Path, out: Path) -> Path:
    """The whole model again in `out` (fp32): `base_dir`'s weights with the shards' laid over them,
    and its config and tokenizer."""
    import torch
    from safetensors.torch import load_file, save_file

    state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(base_dir / _MODEL)).items()}
    parts: dict[str, list[tuple[int, torch.Tensor]]] = {}
    for shard in sorted(shard_dir.glob("shard*.safetensors")):
        for key, t in load_file(str(shard)).items():
            whole, _, row = key.partition("#")
            parts.setdefault(whole, []).append((int(row or 0), t))
    for whole, pieces in parts.items():
        t = torch.cat([p for _, p in sorted(pieces, key=lambda x: x[0])])
        state[whole] = t.float() if t.is_floating_point() else t
    out.mkdir(parents=True, exist_ok=True)
    save_file(state, str(out / _MODEL))
    for f in base_dir.iterdir():
        if f.suffix == ".json" and f.name != "model.safetensors.index.json":
            shutil.copy(f, out / f.name)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=["pack", "unpack"])
    p.add_argument("source", type=Path, help="pack: a trained model folder; unpack: a folder of shards")
    p.add_argument("--base", type=Path, required=True, help="the model folder training started from")
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    if a.action == "pack":
        print(f"wrote {len(pack(a.source, a.base, a.out))} shards to {a.out}")
    else:
        print(f"wrote {unpack(a.source, a.base, a.out)}")


if __name__ == "__main__":
    main()
