"""Benchmarks of Xiuhua against the performance issue's targets (see ``bench/README.md``).

Each benchmark prints its figures beside baselines measured in the same run; none ever fails
on a number. Run them with ``python -m bench`` (``--full`` for the issue's sizes).
"""
