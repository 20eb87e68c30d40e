"""Lessons that changed their name: where a link to an old file stem leads now.

A lesson is named by its file stem in every link to it: the app's ``?lesson=<stem>&step=<N>``,
the exported site's ``<stem>.html``. The stem starts with the lesson's number, and the numbers
follow the learning order, so a lesson that moves in the order gets a new stem while its words
stay. Links that teachers shared before keep working: :func:`current_stem` leads an old stem to
the lesson's new one, and the step number means the same step, since only the name changed.

:data:`RENAMED` is the one table of old stems; add a row whenever a lesson is renumbered, and
never remove one (an old link lives as long as someone keeps it).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from types import MappingProxyType

__all__ = ["RENAMED", "current_stem"]

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
