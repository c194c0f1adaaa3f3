"""One root exception; every shell turns it into a one-line message."""


class ContamFilterError(Exception):
    """Base of every error contamfilter raises on purpose."""


class InputError(ContamFilterError):
    """The caller's input cannot be processed (binary, too large, no text, ...)."""


class ModelError(ContamFilterError):
    """The model file is missing, tampered with, or from another scikit-learn."""


class AnnotationError(ContamFilterError):
    """A labeled seed document is malformed; the message names file and line."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
