"""Tests of qa/train/, file by file: a few steps on tiny hand-written data (marker `train`)."""
