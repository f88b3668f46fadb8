"""The package's exceptions. Each carries the file it concerns (if any) and the cause."""

from __future__ import annotations

from typing import Optional


class GenreError(Exception):
    """Base class of every error this package raises (also: a bad argument value)."""

    def __init__(self, message: str, file: Optional[str] = None, cause: Optional[str] = None) -> None:
        super().__init__(message)
        #: The file (or the array's name) the error concerns, if any.
        self.file = file
        #: What went wrong, without the file's name.
        self.cause = cause


class AudioError(GenreError):
    """Audio that cannot be read: a missing, empty, broken or unsupported file or array."""


class ModelError(GenreError):
    """A model that cannot be loaded or run, or a device that is not available."""
