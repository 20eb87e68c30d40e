"""What the tests share besides fixtures: the folders of the repository, and where to find things."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The repository."""
TESTS = ROOT / "tests"
"""This folder: golden transcripts, fixture lessons and programs live here."""
FIXTURES = TESTS / "fixtures"
"""Small lessons and programs written for the tests."""
LESSONS = ROOT / "lessons"
"""The lessons the app serves."""
CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium, which the browser tests drive through Playwright."""
AXE = TESTS / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
"""axe-core, which .ci/run installs from npm (pinned there) for the accessibility tests."""
