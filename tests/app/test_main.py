"""`python app.py`: bad flags and a busy port end with one line and exit code 2."""

import socket

from erase.app.main import main


def test_a_bad_or_busy_port_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["--port", "0", "--runs", str(tmp_path)]) == 2
    assert "--port must be from 1 to 65535" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert main(["--port", str(busy.getsockname()[1]), "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot serve on 127.0.0.1:") and "\n" not in err
