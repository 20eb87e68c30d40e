"""Words the transcript defines once, and the places that attach meaning to each of them: every
place covers exactly the words the transcript's types name."""

from __future__ import annotations

import dataclasses
from typing import get_args

from sqlecho import ObjectState
from sqlecho._app.lessons import Switches
from sqlecho._cli import _parser
from sqlecho._render.panels import STATES
from sqlecho._trace.options import SWITCHES, TraceOptions
from sqlecho._transcript.checks import STATES as CHECKED_STATES
from sqlecho._transcript.schema import OBJECT_STATES, SWITCH_NAMES
from sqlecho.transcript import ObjectStateName


def test_the_object_states_come_from_the_literal_and_every_reader_covers_them() -> None:
    assert OBJECT_STATES == get_args(ObjectStateName)
    assert tuple(state.value for state in ObjectState) == OBJECT_STATES
    assert tuple(STATES) == OBJECT_STATES
    assert CHECKED_STATES == OBJECT_STATES  # what a check's "state" clause accepts


def test_every_switch_is_a_trace_option_a_command_line_flag_and_a_transcript_field() -> None:
    fields = {field.name for field in dataclasses.fields(TraceOptions)}
    assert set(SWITCH_NAMES) <= fields
    assert [switch.name for switch in SWITCHES] == list(SWITCH_NAMES)
    assert list(TraceOptions().switches()) == list(SWITCH_NAMES)
    app_fields = [field.name for field in dataclasses.fields(Switches)]
    assert app_fields[: len(SWITCH_NAMES)] == list(SWITCH_NAMES)  # then the app's own: presenter...
    assert TraceOptions(autoflush=False).overrides() == {"autoflush": False}
    assert [switch.off() for switch in SWITCHES] == [
        TraceOptions(expire_on_commit=False),
        TraceOptions(autoflush=False),
    ]
    help_text = (
        _parser().format_help() + _parser()._subparsers._group_actions[0].choices["trace"].format_help()
    )  # type: ignore[union-attr]
    for switch in SWITCHES:
        assert switch.flag in help_text
