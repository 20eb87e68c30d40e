"""Lessons that changed their name: where a link to an old file stem leads now.

A lesson is named by its file stem in every link to it: the app's ``?lesson=<stem>&step=<N>``,
the exported site's ``<stem>.html``. The stem starts with the lesson's number, and the numbers
follow the learning order, so a lesson that moves in the order gets a new stem while its words
stay. Links that teachers shared before keep working: :func:`current_stem` leads an old stem to
the lesson's new one, and the step number means the same step, since only the name changed. An
exported site keeps a small page under each old name that forwards to the new page
(:func:`moved_page`), the ``#step=N`` of the link included.

:data:`RENAMED` is the one table of old stems; add a row whenever a lesson is renumbered, and
never remove one (an old link lives as long as someone keeps it).
"""

from __future__ import annotations

import html
import json
from collections.abc import Collection, Iterator, Mapping
from types import MappingProxyType
from urllib.parse import quote

__all__ = ["RENAMED", "current_stem", "former_stems", "moved_page", "moved_pages"]

RENAMED: Mapping[str, str] = MappingProxyType(
    {
        # Put into learning order: no lesson builds on a later one.
        "08_get_and_identity_map": "09_get_and_identity_map",
        "09_limit_and_offset": "10_limit_and_offset",
        "10_updating": "11_updating",
        "11_autoflush": "12_autoflush",
        "12_deleting": "13_deleting",
        "13_rollback": "15_rollback",
        "14_savepoints": "16_savepoints",
        "15_relationships": "17_relationships",
        "16_lazy_loading_n_plus_1": "18_lazy_loading_n_plus_1",
        "17_cascade_delete": "20_cascade_delete",
        "18_many_to_many": "21_many_to_many",
        "19_stale_data": "22_stale_data",
        "20_session_per_request": "24_session_per_request",
        "21_async_sessions": "26_async_sessions",
        "22_server_generated_values": "25_server_generated_values",
        "23_execute_exec_scalars": "08_execute_exec_scalars",
        "24_joins": "19_joins",
        "25_merge_vs_add": "27_merge_vs_add",
        "26_unique_constraints": "28_unique_constraints",
        "27_orm_update_delete": "14_orm_update_delete",
        "28_concurrency": "29_concurrency",
        "29_session_factories": "23_session_factories",
    }
)
"""Old lesson stem -> the stem the same lesson has now."""


def current_stem(stem: str, stems: Collection[str], renamed: Mapping[str, str] = RENAMED) -> str | None:
    """The lesson among ``stems`` that a link to ``stem`` means, or None when there is none.

    A stem that exists is itself, even if it was once another lesson's name (a folder of one's
    own lessons may use any names). Otherwise an old stem leads to its lesson's new one, followed
    through later renames, when that lesson is among ``stems``.

    >>> current_stem("23_execute_exec_scalars", ["08_execute_exec_scalars"])
    '08_execute_exec_scalars'
    >>> current_stem("23_execute_exec_scalars", ["01_first_steps"]) is None
    True
    """
    seen = set()
    while stem not in stems:
        if stem in seen or stem not in renamed:
            return None
        seen.add(stem)
        stem = renamed[stem]
    return stem


def former_stems(stem: str, renamed: Mapping[str, str] = RENAMED) -> list[str]:
    """Every old stem that leads to ``stem``: where a browser may still keep the predictions a
    reader made before the lesson was renamed (they are read there when ``stem`` has none).

    >>> former_stems("08_execute_exec_scalars")
    ['23_execute_exec_scalars']
    """
    return [old for old in sorted(renamed) if old != stem and current_stem(old, (stem,), renamed) == stem]


def moved_pages(stems: Collection[str], renamed: Mapping[str, str] = RENAMED) -> Iterator[tuple[str, str]]:
    """(old stem, current stem) for every old name whose lesson is among ``stems`` and whose
    own name is not: the pages an exported site keeps for old links."""
    for old in sorted(renamed):
        new = current_stem(old, stems, renamed)
        if new is not None and new != old:
            yield old, new


def moved_page(new_stem: str) -> str:
    """A page that forwards to ``<new_stem>.html`` at once, keeping the link's ``#step=N``.

    Without JavaScript the refresh goes to the lesson's first step, and the link is there to click.
    """
    href = quote(new_stem, safe="") + ".html"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline'\">"
        f'<meta http-equiv="refresh" content="0; url={html.escape(href)}">'
        f"<title>Moved to {html.escape(href)}</title>"
        f"<script>location.replace({json.dumps(href)} + location.hash)</script></head>"
        f'<body><p>This lesson is now <a href="{html.escape(href)}">{html.escape(href)}</a>.</p></body></html>\n'
    )
