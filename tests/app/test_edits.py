"""The links of edited lessons and pasted programs: a round trip, the bounds, and garbage.

A link is text from a stranger: whatever it holds, decoding ends in the program or edits it was
made from, or in one plain sentence, never a traceback and never more memory than a pasted
program may take.
"""

from __future__ import annotations

import base64
import json
import tracemalloc
import zlib

import pytest

from sqlecho._app.edits import (
    MAX_LINK_CHARS,
    MAX_TEXT_CHARS,
    LinkError,
    apply_edits,
    cell_key,
    decode_code,
    decode_edits,
    encode_code,
    encode_edits,
    resolve_edits,
    syntax_problem,
)


def _raw(data: bytes) -> str:
    """A parameter as a link maker would write it, whatever ``data`` is."""
    return base64.urlsafe_b64encode(zlib.compress(data, 9)).rstrip(b"=").decode("ascii")


def test_edits_survive_a_round_trip_and_stay_link_safe() -> None:
    edits = {"Add a book": 'book = Book(title="Ünïcode ✓ <b>")\nsession.refresh(book)\n', "3": "x = 1"}
    text = encode_edits(edits)
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_edits(text) == edits
    assert encode_edits(dict(reversed(edits.items()))) == text  # one edit set, one link


def test_a_program_survives_a_round_trip() -> None:
    code = "from sqlmodel import SQLModel\nprint('héllo')\n" * 40
    text = encode_code(code)
    assert len(text) < len(code) / 4  # compressed: a lesson-sized program fits a link
    assert decode_code(text) == code


def test_edits_too_long_for_a_link_are_refused_with_the_numbers() -> None:
    noise = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(6000))  # does not compress
    with pytest.raises(
        LinkError,
        match=r"^These edits are too long for a link: [\d,]+ characters once compressed, and a link holds at most 6,000\.$",
    ):
        encode_edits({"Setup": noise})
    with pytest.raises(LinkError, match="^This program is too long for a link"):
        encode_code(noise)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The link's edits are empty."),
        ("   ", "The link's edits are empty."),
        (
            "<script>alert(1)</script>",
            "The link's edits cannot be read: the link was cut short or changed on the way.",
        ),
        ("abcde", "The link's edits cannot be read: the link was cut short or changed on the way."),
        ("aGVsbG8gd29ybGQ", "The link's edits cannot be read: the link is damaged."),  # base64, not zlib
        (_raw(b'{"a": "b"}')[:-4], "The link's edits cannot be read: the link was cut short."),
        ("A" * (MAX_LINK_CHARS + 1), "The link's edits are too long (6,001 characters; at most 6,000)."),
        (_raw(b"\xff\xfe"), "The link's edits are not text."),
        (_raw(b"x = 1\x00"), "The link's edits hold binary data, not Python source."),
        (_raw(b"[1, 2]"), "The link's edits cannot be read: they are not a list of cells and their code."),
        (
            _raw(b'{"Setup": 3}'),
            "The link's edits cannot be read: they are not a list of cells and their code.",
        ),
        (_raw(b"{}"), "The link's edits cannot be read: they are not a list of cells and their code."),
        (_raw(b"not json"), "The link's edits cannot be read: they are not a list of cells and their code."),
    ],
)
def test_garbage_gets_one_plain_sentence(text: str, message: str) -> None:
    with pytest.raises(LinkError) as caught:
        decode_edits(text)
    assert str(caught.value) == message


def test_garbage_code_gets_one_plain_sentence() -> None:
    with pytest.raises(
        LinkError,
        match=r"^The link's lines of code cannot be read: the link was cut short or changed on the way\.$",
    ):
        decode_code("%%%")


def test_a_compression_bomb_is_refused_before_it_takes_the_memory() -> None:
    bomb = _raw(b"a" * 4_000_000)  # 4 MB in a few kilobytes
    assert len(bomb) <= MAX_LINK_CHARS
    tracemalloc.start()
    try:
        with pytest.raises(LinkError, match=r"expand to more than 100,000 characters"):
            decode_code(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * 4 * MAX_TEXT_CHARS  # about twice the limit (zlib grows its buffer), never 4 MB


def test_text_longer_than_a_pasted_program_is_refused() -> None:
    with pytest.raises(LinkError, match="expand to more than 100,000 characters"):
        decode_code(_raw(b"#" * (MAX_TEXT_CHARS + 1)))


STEPS = [
    {"title": "Setup", "lines": [2, 3]},
    {"title": None, "lines": [5, 5]},
    {"title": "Close", "lines": [7, 8]},
]
SOURCE = "# %% Setup\na = 1\nb = 2\n# %%\nprint(a)\n# %% Close\nc = 3\nprint(c)\n"


def test_cells_are_named_by_title_else_by_step_number() -> None:
    assert [cell_key(step, index) for index, step in enumerate(STEPS)] == ["Setup", "2", "Close"]


def test_edits_resolve_to_steps_and_unknown_cells_are_named() -> None:
    found, problems = resolve_edits(
        {"Close": "c = 4", "2": "print(b)", "Gone [x](y)": "", "9" * 5000: ""}, STEPS
    )
    assert found == {2: "c = 4", 1: "print(b)"}
    assert problems[0] == "This lesson has no step “Gone [x](y)”; that edit was left out."
    assert problems[1].endswith("...”; that edit was left out.")


def test_several_edits_replace_their_lines_and_nothing_else() -> None:
    edited = apply_edits(SOURCE, STEPS, {0: "a = 10\nextra = 0\nb = 20", 2: "c = 30\n"})
    assert edited == "# %% Setup\na = 10\nextra = 0\nb = 20\n# %%\nprint(a)\n# %% Close\nc = 30\n"


def test_a_syntax_error_names_its_line_and_column() -> None:
    assert syntax_problem("x = 1\nprint(x") is not None
    assert syntax_problem("x = 1\ny = (1 +* 2)\n") == (
        "This code has a syntax error at line 2, column 9: invalid syntax. Nothing was run."
    )
    assert syntax_problem("session.refresh(book)\n") is None
    assert "null bytes" in str(syntax_problem("x = 1\x00"))


def test_the_link_format_is_plain_zlib_json() -> None:
    """The format is a promise (docs/app.md): anyone can build a link with a few lines of Python."""
    made_by_hand = _raw(json.dumps({"Setup": "a = 2"}).encode())
    assert decode_edits(made_by_hand) == {"Setup": "a = 2"}
    assert decode_code(_raw(b"print(1)\n")) == "print(1)\n"
