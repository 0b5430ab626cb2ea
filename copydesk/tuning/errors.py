"""Errors of tuning a model: each says what failed and what to do."""

from __future__ import annotations

from copydesk.errors import CopydeskError


class TuningError(CopydeskError):
    """Tuning could not start or go on."""


class NoTrainingDataError(TuningError):
    """No example to train on (nothing approved, or every row quarantined)."""


class TooFewExamplesError(TuningError):
    """Fewer examples than a tune needs to be worth anything."""


class BaseModelError(TuningError):
    """The base model cannot be tuned here: not a causal LM, unreadable, or too large."""


class CheckpointError(TuningError):
    """A checkpoint cannot be resumed (another run's data or settings, or unreadable)."""
