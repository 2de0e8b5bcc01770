"""Cross-version export compatibility harness for PaddlePaddle.

Kept import-free: ``harness.inside`` is imported inside every runtime (Python 3.7+,
only paddle + numpy), and importing it imports this file too.
"""
