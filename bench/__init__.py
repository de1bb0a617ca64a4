"""The product's benchmarks (run as scripts, `python bench/NAME.py`) and, in `bench.tune`, the scripts that choose
the values the model files carry (run as modules, `python -m bench.tune.NAME`); see bench/README.md."""
