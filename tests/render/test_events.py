"""The HTML of a step's code and events: highlighting, statement counts, markers, escaping."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from sqlecho._render.code import esc, format_sql, highlight_python_lines, highlight_sql, py_repr
from sqlecho._render.events import (
    MAX_EVENTS_SHOWN,
    cause_chip,
    render_code,
    render_error,
    render_events,
    sql_total,
)
from sqlecho._transcript.derive import statement_counts

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&"


def _text(html: str) -> str:
    """The visible text of an HTML fragment (tags dropped, entities kept)."""
    return re.sub(r"<[^>]+>", "", html)


def _step(events: list[dict[str, Any]], lines: tuple[int, int] = (1, 1), **extra: Any) -> dict[str, Any]:
    step: dict[str, Any] = {
        "index": 0,
        "title": None,
        "narrative": "",
        "lines": list(lines),
        "events": events,
    }
    step.update({"objects": [], "session": None, "tables": {}, "error": None})
    step.update(extra)
    return step


def _sql(statement: str, line: int | None = 1, **extra: Any) -> dict[str, Any]:
    event = {"kind": "sql", "line": line, "statement": statement, "parameters": [], "executemany": False}
    event.update(extra)
    return event


# -- code -------------------------------------------------------------------------------------


def test_python_highlighting_marks_keywords_strings_numbers_comments_and_builtins() -> None:
    lines = highlight_python_lines('x = 1  # one\nprint("hi") if x else None\nhero.id\n')
    assert lines[0] == 'x = <span class="sqe-num">1</span>  <span class="sqe-com"># one</span>'
    assert lines[1] == (
        '<span class="sqe-bi">print</span>(<span class="sqe-str">&quot;hi&quot;</span>) '
        '<span class="sqe-kw">if</span> x <span class="sqe-kw">else</span> <span class="sqe-kw">None</span>'
    )
    assert lines[2] == "hero.id"  # an attribute named like a builtin is not the builtin


def test_python_highlighting_keeps_one_html_line_per_source_line() -> None:
    source = 'text = """first\nsecond <b>\n"""\nvalue = 2\n'
    lines = highlight_python_lines(source)
    assert len(lines) == len(source.splitlines())
    assert lines[1] == '<span class="sqe-str">second &lt;b&gt;</span>'  # the string's span is closed per line
    assert all(line.count("<span") == line.count("</span>") for line in lines)


def test_python_that_does_not_tokenize_is_shown_plain_and_escaped() -> None:
    lines = highlight_python_lines('s = """never closed\n<b>x</b>\n')
    assert lines == ["s = &quot;&quot;&quot;never closed", "&lt;b&gt;x&lt;/b&gt;"]


def test_render_code_numbers_lines_highlights_the_step_and_counts_statements() -> None:
    source = "a = 1\nsession.commit()\nprint(a)\nb = 2\n"
    step = _step([_sql("SELECT 1", line=2)], lines=(2, 3))
    counts = Counter({2: 3, 4: 1})
    html = render_code(highlight_python_lines(source), step, counts, context=1)
    rows = re.findall(r'<div class="([^"]+)"><span class="sqe-ln">(\d+)</span>(.*?)</div>', html)
    assert [(cls, number) for cls, number, _ in rows] == [
        ("sqe-line", "1"),
        ("sqe-line sqe-current", "2"),
        ("sqe-line sqe-current", "3"),
        ("sqe-line", "4"),
    ]
    assert 'title="3 SQL statements over the whole run, 1 in this step">3</span>' in rows[1][2]
    assert '<span class="sqe-count sqe-hot"' in rows[1][2]  # this step's own statements stand out
    assert (
        '<span class="sqe-count" title="1 SQL statement over the whole run, 0 in this step">1</span>'
        in rows[3][2]
    )


def test_render_code_window_and_whole_program() -> None:
    lines = highlight_python_lines("\n".join(f"x{n} = {n}" for n in range(1, 21)))
    step = _step([], lines=(10, 10))
    numbers = re.findall(r'class="sqe-ln">(\d+)<', render_code(lines, step, Counter(), context=2))
    assert numbers == ["8", "9", "10", "11", "12"]
    whole = re.findall(r'class="sqe-ln">(\d+)<', render_code(lines, step, Counter(), whole=True))
    assert whole == [str(n) for n in range(1, 21)]


def test_render_code_marks_the_line_of_the_error() -> None:
    step = _step([], lines=(1, 2), error={"type": "E", "message": "m", "line": 2, "expected": False})
    html = render_code(highlight_python_lines("a\nb\n"), step, Counter())
    assert '<div class="sqe-line sqe-current sqe-error-line"><span class="sqe-ln">2</span>' in html


def test_statement_counts_add_up_statements_per_line() -> None:
    steps = [
        _step([_sql("SELECT 1", 3), {"kind": "begin", "line": 3}]),
        _step([_sql("SELECT 2", 3), _sql("X", None)]),
    ]
    assert statement_counts(steps) == Counter({3: 2})
    assert sql_total(steps[1]) == 2


# -- SQL and values ---------------------------------------------------------------------------


def test_format_sql_keeps_sqlalchemys_line_breaks_and_drops_blank_lines_and_tabs() -> None:
    statement = "\nCREATE TABLE hero (\n\tid INTEGER NOT NULL, \n\n\tPRIMARY KEY (id)\n)\n\n"
    assert format_sql(statement) == "CREATE TABLE hero (\n    id INTEGER NOT NULL,\n    PRIMARY KEY (id)\n)"


def test_sql_highlighting_marks_keywords_parameters_strings_and_numbers() -> None:
    html = highlight_sql("SELECT hero.name FROM hero WHERE hero.id = ? AND name = 'a<b' LIMIT 10")
    assert html == (
        '<span class="sqe-kw">SELECT</span> hero.name <span class="sqe-kw">FROM</span> hero '
        '<span class="sqe-kw">WHERE</span> hero.id = <span class="sqe-param">?</span> '
        '<span class="sqe-kw">AND</span> name = <span class="sqe-str">&#x27;a&lt;b&#x27;</span> '
        '<span class="sqe-kw">LIMIT</span> <span class="sqe-num">10</span>'
    )


def test_py_repr_reads_like_python_and_is_shortened() -> None:
    assert py_repr([None, True, "Deadpond", 3, {"a": 1.5}]) == "[None, True, 'Deadpond', 3, {'a': 1.5}]"
    assert py_repr("x" * 100, limit=10) == "'xxxxxxxx…"


# -- events -----------------------------------------------------------------------------------


def test_events_are_drawn_in_order_with_markers_causes_parameters_and_lines() -> None:
    step = _step(
        [
            {"kind": "begin", "line": 4},
            _sql(
                "INSERT INTO hero (name) VALUES (?)", 4, parameters=["Rusty"], cause="autoflush", rowcount=1
            ),
            {"kind": "transition", "line": 4, "object": "Hero#1", "from": "pending", "to": "persistent"},
            {"kind": "output", "line": 5, "text": "one\n"},
            {"kind": "output", "line": 5, "text": "two\n", "stream": "stderr"},
            {"kind": "expire", "line": 6, "object": "Hero#1", "attributes": ["id", "name"]},
            {"kind": "refresh", "line": 7, "object": "Hero#1", "attributes": ["name"]},
            {"kind": "load", "line": 8, "object": "Team#1"},
            {"kind": "commit", "line": 9},
            {"kind": "rollback", "line": None},
            {"kind": "exit", "line": 10, "code": 0},
        ]
    )
    html = render_events(step)
    blocks = re.findall(r'<(?:div|pre) class="sqe-ev ([^"]+)"', html)
    assert blocks == [
        "sqe-tx sqe-tx-begin",
        "sqe-sql",
        "sqe-obj",
        "sqe-out",  # consecutive output events share one block
        "sqe-obj",
        "sqe-obj",
        "sqe-obj",
        "sqe-tx sqe-tx-commit",
        "sqe-tx sqe-tx-rollback",
        "sqe-obj",
    ]
    text = _text(html)
    assert "BEGIN (implicit)line 4" in text
    assert "autoflush" in text and "parameters: [&#x27;Rusty&#x27;]" in text and "1 row" in text
    assert "Hero#1 ◔ pending → ● persistent" in text
    assert "Hero#1 expired: id, name (next access loads)" in text
    assert "Hero#1 refreshed: name" in text and "Team#1 loaded from the database" in text
    assert '<span class="sqe-stderr">two\n</span>' in html
    assert "The program exited (status 0)." in text


def test_cause_chips_carry_a_class_and_an_explanation() -> None:
    assert cause_chip("lazy load Hero.team") == (
        '<span class="sqe-cause sqe-cause-lazy" title="The first access of a relationship loaded it.">'
        "lazy load Hero.team</span>"
    )
    assert 'class="sqe-cause sqe-cause-expired"' in cause_chip("load expired Hero#1")
    assert 'class="sqe-cause sqe-cause-other"' in cause_chip("something new")
    assert 'title="Your code ran a textual or Core statement."' in cause_chip("execute")
    assert "ORM-enabled UPDATE" in cause_chip("bulk update")
    assert "identity map" in cause_chip("get")
    assert "event listener" in cause_chip("event listener")
    assert cause_chip(None) == ""


def test_executemany_shows_its_rows_and_batches_show_their_position() -> None:
    rows = [[n, f"h{n}"] for n in range(10)]
    html = render_events(_step([_sql("INSERT", 1, parameters=rows, executemany=True, batch=[2, 3])]))
    assert "executemany, 10 rows:" in html and "[7, &#x27;h7&#x27;]" in html and "… and 2 more" in html
    assert "batch 2 of 3" in html


def test_marked_events_say_they_only_happen_in_this_run() -> None:
    html = render_events(
        _step([{"kind": "begin", "line": 1}, _sql("SELECT 1"), _sql("SELECT 2")]), marks=[0, 2]
    )
    assert html.count("only in this run") == 2
    assert re.findall(r'class="sqe-ev sqe-sql( sqe-marked)?"', html) == ["", " sqe-marked"]


def test_long_steps_are_summarised_past_the_limit() -> None:
    html = render_events(_step([_sql(f"SELECT {n}") for n in range(MAX_EVENTS_SHOWN + 5)]))
    assert html.count('class="sqe-ev sqe-sql"') == MAX_EVENTS_SHOWN
    assert "… 5 more events (5 statements) not drawn here" in html


def test_a_quiet_step_says_so() -> None:
    assert "No SQL, no state change, no output in this step." in render_events(_step([]))


def test_nothing_from_the_program_reaches_the_page_unescaped() -> None:
    step = _step(
        [
            _sql(HOSTILE, 1, parameters=[HOSTILE], cause=HOSTILE, error=HOSTILE),
            {"kind": "output", "line": 1, "text": HOSTILE},
            {"kind": "transition", "line": 1, "object": HOSTILE, "from": HOSTILE, "to": "pending"},
            {"kind": "expire", "line": 1, "object": HOSTILE, "attributes": [HOSTILE]},
            {"kind": HOSTILE, "line": 1},
        ]
    )
    html = render_events(step)
    html += render_code(highlight_python_lines(f"x = {HOSTILE!r}\n# {HOSTILE}\n"), step, Counter({1: 1}))
    html += render_error({"type": HOSTILE, "message": HOSTILE, "line": 1, "expected": False, "code": HOSTILE})
    assert "<script" not in html and "<img" not in html  # the payload is text, never markup
    assert esc(HOSTILE) in html


# -- errors -----------------------------------------------------------------------------------


def test_unexpected_errors_explain_themselves_and_link_to_sqlalchemy() -> None:
    error = {
        "type": "DetachedInstanceError",
        "message": "Instance <Hero at 0x...> is not bound to a Session (Background on this error at: "
        "https://sqlalche.me/e/21/bhk3)",
        "line": 12,
        "expected": False,
        "code": "bhk3",
    }
    html = render_error(error, {"sqlalchemy": "2.1.9"})
    assert html.startswith('<div class="sqe-err sqe-unexpected" role="alert">')
    assert "✖ Error at line 12" in html
    assert "is not bound to a Session</div>" in html  # SQLAlchemy's own link suffix is dropped
    assert "The object is detached" in html and "What to do:" in html
    assert '<a href="https://sqlalche.me/e/21/bhk3" target="_blank" rel="noopener">' in html


def test_expected_errors_and_limits_look_different() -> None:
    expected = render_error({"type": "NoResultFound", "message": "No row", "line": 3, "expected": True})
    assert 'class="sqe-err sqe-expected"' in expected and "Expected error at line 3" in expected
    limit = render_error(
        {
            "type": "TimeLimitExceeded",
            "message": "Stopped.",
            "line": 2,
            "expected": False,
            "limit": "wall_time",
        }
    )
    assert 'class="sqe-err sqe-limit"' in limit and "Stopped by a limit at line 2" in limit
    assert "an endless loop" in limit


def test_rows_written_are_shown_only_where_the_driver_counts_them() -> None:
    html = render_events(
        _step(
            [
                _sql("INSERT INTO hero (name) VALUES (?) RETURNING id", rowcount=0),
                _sql("UPDATE hero SET age=? WHERE hero.id = ?", rowcount=0),
                _sql("DELETE FROM hero WHERE hero.id = ?", rowcount=2),
                _sql("SELECT hero.id FROM hero", rowcount=-1),
            ]
        )
    )
    notes = re.findall(r'<span class="sqe-note">(\d+ rows?)</span>', html)
    assert notes == ["0 rows", "2 rows"]  # RETURNING and SELECT have no meaningful rowcount


def test_a_run_of_like_object_events_is_one_line() -> None:
    def expire(label: str, line: int = 9) -> dict[str, Any]:
        return {"kind": "expire", "line": line, "object": label, "attributes": ["id", "name"]}

    loads = [{"kind": "load", "line": 3, "object": f"Book#{n}"} for n in range(1, 4)]
    html = render_events(_step([*loads, expire("Hero#1"), expire("Hero#2"), expire("Hero#3", line=10)]))
    lines = [_text(block) for block in re.findall(r'<div class="sqe-ev sqe-obj">(.*?)</div>', html)]
    assert lines == [
        "Book#1, Book#2, Book#3 loaded from the databaseline 3",
        "Hero#1, Hero#2 expired: id, name (next access loads)line 9",
        "Hero#3 expired: id, name (next access loads)line 10",  # another line: another event
    ]


def test_the_rollback_of_closing_a_session_is_calm_and_says_why() -> None:
    source = ["with Session(engine) as session:", "    session.get(Hero, 1)", "session.rollback()"]
    closing = {"lines": [1, 2], "events": [{"kind": "rollback", "line": 1}], "error": None}
    html = render_events(closing, source=source)
    assert (
        "sqe-tx-calm" in html
        and "closed (close(), or the end of its with block)" in html
        and "nothing committed is undone" in html
    )
    asked = {"lines": [3, 3], "events": [{"kind": "rollback", "line": 3}], "error": None}
    assert "sqe-tx-calm" not in render_events(asked, source=source)  # the program asked for it
    failed = closing | {"error": {"type": "IntegrityError", "message": "", "line": 2, "expected": False}}
    assert "sqe-tx-calm" not in render_events(failed, source=source)
    assert "sqe-tx-calm" not in render_events(closing)  # without the source, no guess


def test_an_error_raised_outside_the_steps_lines_shows_and_marks_its_own_line() -> None:
    lines = [f"line_{number} = {number}" for number in range(1, 21)]
    error = {"type": "ValueError", "message": "boom", "line": 17, "expected": False}
    step = {"lines": [12, 12], "events": [], "error": error}  # leaving a with block that raised
    html = render_code(highlight_python_lines("\n".join(lines)), step, Counter(), context=1)
    numbers = re.findall(r'class="sqe-ln">([^<]+)<', html)
    assert numbers == ["11", "12", "13", "⋯", "16", "17", "18"]
    assert re.findall(r'sqe-error-line"><span class="sqe-ln">(\d+)<', html) == ["17"]
    assert re.findall(r'sqe-current"><span class="sqe-ln">(\d+)<', html) == ["12"]


def test_a_cell_markers_tags_and_check_are_not_shown_in_the_code() -> None:
    from sqlecho._render.code import highlight_python_lines

    source = 'x = 1\n# %% Count tags=["exercise"] check="select == 1" hint="one"\nprint(x)\n'
    lines = highlight_python_lines(source)
    assert len(lines) == 3 and "# %% Count</span>" in lines[1]
    assert "check" not in lines[1] and "exercise" not in lines[1] and "print" in lines[2]
