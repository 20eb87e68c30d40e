"""What a limit's explanation tells the reader to do."""

from __future__ import annotations

import pytest

from sqlecho._render.explain import explain
from sqlecho._transcript.limits import LIMIT_KINDS


@pytest.mark.parametrize("limit", sorted(LIMIT_KINDS))
def test_every_limit_says_what_to_change_in_the_program(limit: str) -> None:
    explanation = explain({"type": LIMIT_KINDS[limit].error_type, "message": "Stopped", "limit": limit})
    assert explanation is not None
    advice = explanation.fix.split("Programs traced here run with limits")[0].strip()
    assert advice, f"{limit}: no advice beyond the limit's existence"


def test_the_cpu_limit_points_at_the_loop() -> None:
    explanation = explain({"type": "CpuTimeLimitExceeded", "message": "Stopped", "limit": "cpu_time"})
    assert explanation is not None and "loop that never ends" in explanation.fix
