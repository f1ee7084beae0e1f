"""The few error types the program raises; each message says what to do."""


class RagError(Exception):
    """Base class: the message is shown to the user as one line."""


class InputError(RagError):
    """A question, file or path the user gave cannot be used."""


class IndexUnavailable(RagError):
    """The index is missing, damaged, busy or built with another model."""
