import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

# tests/ holds helper modules (strategies.py) imported by the test files.
sys.path.insert(0, os.path.dirname(__file__))

# `make test` and CI draw the same 12 examples per test on every run, so a result never depends
# on luck; HYPOTHESIS_PROFILE=thorough explores 200 fresh random examples per test.
settings.register_profile("default", max_examples=12, deadline=None, derandomize=True)
settings.register_profile("thorough", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# Headless Debian Chromium driven by Playwright, for the pages microgrid makes (the step-through,
# the playground); `playwright install` cannot download a browser here. Without Chromium or
# Playwright the browser tests skip, saying how to get them, except under CI (the env var CI is
# set by .ci/run, which installs Chromium), where a skipped browser test would hide a broken page.
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium driven by Playwright, or a skip (a failure under CI) when it cannot run."""
    missing = None
    if not os.path.exists(CHROMIUM):
        missing = f"{CHROMIUM} is missing: apt-get update && apt-get install -y chromium"
    else:
        try:
            import playwright.sync_api
        except ImportError:
            missing = (
                "Playwright is missing: pip install playwright (the dev extra; never `playwright install`)"
            )
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the browser tests must run under CI: {missing}")
        pytest.skip(f"browser tests skipped: {missing}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()
