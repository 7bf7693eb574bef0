import pytest

from lib.errors import InputError
from stages._run import run


def test_bad_input_exits_2_with_one_clear_line(capsys):
    def main():
        raise InputError("data/raw/human-maps/img1_discr.mat: file not found")

    with pytest.raises(SystemExit) as exit_info:
        run(main)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err == "error: data/raw/human-maps/img1_discr.mat: file not found\n"
