"""Errors that carry a message meant for the user (CLI prints it; the app shows it as gr.Error)."""


class UserError(ValueError):
    """Bad input from a user: a missing folder, an unreadable file, an empty caption..."""


class CheckpointError(UserError):
    """A weights folder or training checkpoint that is missing, mismatched, truncated or tampered."""
