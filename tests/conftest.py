import os
import sys

from hypothesis import settings

# tests/ holds helper modules (strategies.py) imported by the test files.
sys.path.insert(0, os.path.dirname(__file__))

# `make test` and CI draw the same 12 examples per test on every run, so a result never depends
# on luck; HYPOTHESIS_PROFILE=thorough explores 200 fresh random examples per test.
settings.register_profile("default", max_examples=12, deadline=None, derandomize=True)
settings.register_profile("thorough", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
