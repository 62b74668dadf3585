"""Schedules of ``alpha``, the weight of generated samples in the student loss (eq. 7)."""

from __future__ import annotations

import numbers

__all__ = ["resolve_alpha", "decreasing", "increasing"]


def decreasing(progress):
    """The paper's schedule: ``alpha = 1 - epoch / epochs`` (from 1 down to ~0)."""
    return 1.0 - progress


def increasing(progress):
    """``alpha = epoch / epochs``: random samples first, generated samples last."""
    return progress


_SCHEDULES = {"decreasing": decreasing, "increasing": increasing}


def resolve_alpha(alpha):
    """Turn the ``alpha`` parameter into a function of training progress in [0, 1).

    ``progress`` is ``epoch / max_epochs`` with ``epoch`` counted from 0. A float is a
    constant; a string names a schedule; a callable is used as it is, its value
    clipped to [0, 1].
    """
    if isinstance(alpha, str):
        try:
            return _SCHEDULES[alpha]
        except KeyError:
            raise ValueError(
                f"Unknown alpha schedule {alpha!r}; valid: {sorted(_SCHEDULES)}, a float "
                "in [0, 1] or a callable of training progress."
            ) from None
    if isinstance(alpha, numbers.Real):
        value = float(alpha)
        return lambda progress: value
    if callable(alpha):
        return lambda progress: min(1.0, max(0.0, float(alpha(progress))))
    raise TypeError(
        f"alpha must be a float, a schedule name or a callable; got {alpha!r}."
    )
