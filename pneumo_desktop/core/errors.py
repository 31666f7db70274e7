"""Typed errors raised by the core. Every message is meant to be shown to a person as-is."""


class PneumoError(Exception):
    """Base class of every error the core raises on purpose."""


class ImageReadError(PneumoError):
    """An input file could not be read as an image.

    ``reason`` is a short machine-readable code, one of: ``missing``, ``not_a_file``,
    ``unreadable``, ``empty``, ``truncated``, ``not_an_image``, ``too_small``, ``too_large``,
    ``unsupported_format``.
    """

    def __init__(self, path, reason: str, message: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(message)


class DatasetError(PneumoError):
    """A data folder cannot be used for training or evaluation (layout, empty class, ...)."""


class ModelFileError(PneumoError):
    """A model file is missing, malformed, incompatible, oversized or hostile."""
