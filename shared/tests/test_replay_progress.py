"""Replay progress when stderr is not a terminal: a summary every few seconds, not a line
per event (a 710-event rebuild once printed 710 lines into a CI log)."""

from __future__ import annotations

import pytest
from syllabus_shared.messaging.replay import ReplayProgress


def test_not_a_terminal_writes_a_few_summary_lines(capsys: pytest.CaptureFixture[str]) -> None:
    with ReplayProgress("progress: replaying", every=3600) as progress:
        for done in range(711):
            progress(done, 710)
    lines = capsys.readouterr().err.splitlines()
    # One when it starts, one at the end: the interval never passed in between.
    assert len(lines) == 2
    assert lines[0].startswith("progress: replaying: 0/710 events")
    assert lines[-1].startswith("progress: replaying: 710/710 events")


def test_a_summary_follows_each_interval(capsys: pytest.CaptureFixture[str]) -> None:
    with ReplayProgress("x", every=0) as progress:
        for done in range(5):
            progress(done, 4)
    assert len(capsys.readouterr().err.splitlines()) == 6  # each call, and the end
