#!/usr/bin/env bash
# Assemble the news corpus of the trust question sets under bench/work/trust/corpus/news/.
# The articles are saved web pages from the test cache of the trafilatura sdist on PyPI (pinned
# version, checked by sha256). News text is not freely licensed, so it is fetched, not committed.
# The product reads the saved HTML pages as they are (their visible text, menus included).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$ROOT/bench/work/trust/corpus/news"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY=python3
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

SDIST=trafilatura-1.0.0.tar.gz
SDIST_SHA=10222e9475363091d38d4aa92349974a23363e8a98692b5f902d60bba3e53383
"$PY" -m pip download --quiet --no-deps --no-binary :all: trafilatura==1.0.0 -d "$TMP"
echo "$SDIST_SHA  $TMP/$SDIST" | sha256sum -c --quiet
tar -xzf "$TMP/$SDIST" -C "$TMP" trafilatura-1.0.0/tests/cache

mkdir -p "$OUT"
while read -r sha name; do
  cp "$TMP/trafilatura-1.0.0/tests/cache/$name" "$OUT/$name"
  echo "$sha  $OUT/$name" | sha256sum -c --quiet
done <<'LIST'
3793fbb6b724605f2b492ec766fe85eda541d1ae4c5a3ff75c2b59f3fd4e95cf reuters.com.parasite.html
1dca15fb3f89065daae80345fcd62f8be884d511598af03d307b7ca0d2fad0db theguardian.com.academics.html
2707b6764006ddadcde173a3cb3b06b3184213a1b6658b9979f6b4e4c4ca8408 vice.com.amazon.html
8c9021c0963dcfa268aaff8d524d8fb0da47b1cdaf5d8080ff58e4ea4d60e5b7 theverge.com.ios13.html
41929d9f472c044e2d3af96498739c19e0c4eb51e3d36ad24fb543a1da0ee1c2 salon.com.emissions.html
636e4f4f1dd51836ec8823d65a925272b5962a0deb55e8e82db26527332433df dw.com.colonial.html
6f5ee1affb33feb86682f7385ee2154f322dc5f1e44aa1cfc2283294eb45787f nature.com.telescope.html
2a6af37471416874282c686adf08ccc8b144b66c6a64dfa7030cfd766d05f349 threatpost.com.android.html
0f782389ece55a3a902497d85ace79f543c12ade89cd1a76e9bb2dc0050502f0 boingboing.net.millenials.html
d72fb72c58a9950376a8c5113d8f4cb3ef79684617190e81de6d374f5983a43e knowtechie.com.rally.html
40e923506f17756b39cc95e9435d1e5e5913dfc406aa8afab6bee2fbc6952c08 phys.org.tool.html
ca89e8218f57e60e5aa5961fdde8d190ee963cefa0b17fbf5a74aeab14c5293b dw.com.uncork.html
LIST

# The project's own seed article joins them.
cp "$ROOT/seeds/nato-russia-council.txt" "$OUT/nato-russia-council.txt"
echo "05c6e9f365131e6420641f756afcda254d8964eb2a63bf54586d156c23417c83  $OUT/nato-russia-council.txt" | sha256sum -c --quiet
echo "news corpus: $(ls "$OUT" | wc -l) documents in $OUT"
