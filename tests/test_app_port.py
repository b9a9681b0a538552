"""app.py honours GRADIO_SERVER_PORT and moves to the next free port when its port is taken."""

import os
import socket

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import app  # noqa: E402


def test_a_taken_port_moves_to_the_next_free_one():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        taken = busy.getsockname()[1]
        port = app.free_port("127.0.0.1", taken)
        assert port is not None and port != taken and taken < port < taken + 20
    assert app.free_port("127.0.0.1", port) == port  # a free port is kept


def test_gradio_server_port_is_the_default(monkeypatch):
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7913")
    assert app.default_port() == 7913
    monkeypatch.delenv("GRADIO_SERVER_PORT")
    assert app.default_port() == 7860
    monkeypatch.setenv("GRADIO_SERVER_PORT", "seventy")
    try:
        app.default_port()
    except SystemExit as exc:
        assert "GRADIO_SERVER_PORT" in str(exc) and "seventy" in str(exc)
    else:
        raise AssertionError("a bad GRADIO_SERVER_PORT must stop the app with a clear line")
