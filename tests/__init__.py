"""The tests, by what they need: unit/ pure functions only; the top level, real models and a real index;
integration/ a real `qa` process, server, browser or Milvus; train/ the training code; bench/ the benchmarks' smoke runs."""
