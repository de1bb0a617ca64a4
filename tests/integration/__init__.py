"""Integration tests: a real `qa` process, server, browser or Milvus, driven as a person would (marker `integration`)."""
