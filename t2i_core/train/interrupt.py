"""Ctrl-C between training steps, never inside one: a half-done step (D updated, G and the step
counter not) must not reach a checkpoint, or ``--resume`` would not continue exactly."""

from __future__ import annotations

import signal
import sys
import threading


class DeferredInterrupt:
    """While active (main thread only), the first SIGINT only sets ``requested``; the training loop
    checks it after each complete step, saves and raises ``KeyboardInterrupt``. A second SIGINT
    interrupts at once. The previous handler is restored on exit."""

    def __init__(self, enabled: bool = True):
        self.enabled, self.requested, self.installed, self._old = enabled, False, False, None

    def __enter__(self) -> "DeferredInterrupt":
        if self.enabled and threading.current_thread() is threading.main_thread():
            self._old = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
            self.installed = True
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\ninterrupt: finishing this step, then saving a checkpoint (Ctrl-C again to stop now)",
              file=sys.stderr)

    def check(self) -> None:
        """Call after each complete step."""
        if self.requested:
            raise KeyboardInterrupt

    def __exit__(self, *exc) -> bool:
        if self.installed:
            signal.signal(signal.SIGINT, self._old if self._old is not None else signal.default_int_handler)
            self.installed = False
        return False
