"""Trial files: reading, typing and every kind of bad input, named by file, row and problem."""

from __future__ import annotations

import pandas as pd
import pytest

from lib.errors import InputError
from lib.trials import load_trials, write_trials

IMAGES = ["img1", "img2"]

GOOD = {
    "patch": "image,participant,x,y,rating\nimg1,p1,16.9,16.9,3\nimg1,p2,50.6,16.9,6\n",
    "dprime": "image,participant,x,y,condition,response\nimg1,p1,3,3,same,shifted\n"
    "img1,p1,3,3,shifted,same\n",
    "spatial": "image,chain,iteration,x,y\nimg2,c1,1,10.5,20\nimg2,c1,2,11,21\n",
    "fixations": "image,participant,task,x,y\nimg1,v1,free,0,405\nimg2,v1,object,200,100\n",
}


def _write(tmp_path, text, name="trials.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("procedure", list(GOOD))
def test_good_files_load_with_their_types(tmp_path, procedure):
    trials = load_trials(_write(tmp_path, GOOD[procedure]), procedure, IMAGES)
    assert len(trials.frame) == 2
    assert trials.frame["x"].dtype == "float64"
    assert trials.md5 is not None and len(trials.md5) == 32


def test_csv_and_parquet_round_trip(tmp_path):
    csv = load_trials(_write(tmp_path, GOOD["dprime"]), "dprime", IMAGES)
    write_trials(csv, tmp_path / "t.parquet")
    parquet = load_trials(tmp_path / "t.parquet", "dprime", IMAGES)
    pd.testing.assert_frame_equal(csv.frame, parquet.frame)


def test_ids_keep_leading_zeros_and_choices_are_case_blind(tmp_path):
    text = (
        "image,participant,x,y,condition,response\nimg1,007,3,3,Same,SHIFTED\n"
        "img1,007,3,3, same,shifted\n"
    )
    frame = load_trials(_write(tmp_path, text), "dprime", IMAGES).frame
    assert frame["participant"].iloc[0] == "007"
    assert (frame["condition"].iloc[0], frame["response"].iloc[0]) == ("same", "shifted")
    assert list(frame["condition"].cat.categories) == ["same"]


# (procedure, bad row appended after the good rows, expected message); the bad row is data row 3,
# line 4 of the file.
BAD = [
    ("patch", "img1,p3,500,16.9,3", r"row 3 \(line 4\): `x` = 500 is outside the image"),
    ("patch", "img1,p3,16.9,-0.5,3", r"row 3 \(line 4\): `y` = -0.5 is outside the image"),
    ("patch", "img1,p3,16.9,16.9,7", r"row 3 \(line 4\): rating 7 is outside 1-6"),
    ("patch", "img1,p3,16.9,16.9,0", r"row 3 \(line 4\): rating 0 is outside 1-6"),
    ("patch", "img1,p3,16.9,16.9,2.5", r"row 3 \(line 4\): `rating` = 2.5 is not an integer"),
    ("patch", "img1,p3,16.9,16.9,high", r"row 3 \(line 4\): `rating` is 'high', not a number"),
    ("patch", "img9,p3,16.9,16.9,3", r"row 3 \(line 4\): unknown image id 'img9'"),
    ("patch", "img1,,16.9,16.9,3", r"row 3 \(line 4\): `participant` is empty"),
    (
        "dprime",
        "img1,p1,3,3,same,maybe",
        r"row 3 \(line 4\): `response` is 'maybe', expected one of",
    ),
    (
        "dprime",
        "img1,p1,3,3,moved,same",
        r"row 3 \(line 4\): `condition` is 'moved', expected one of",
    ),
    ("dprime", "img1,p1,3,406,same,same", r"row 3 \(line 4\): `y` = 406 is outside the image"),
    (
        "spatial",
        "img2,c1,2,12,22",
        r"row 3 \(line 4\): second row for image img2 chain c1 iteration 2",
    ),
    ("spatial", "img2,c1,-1,12,22", r"row 3 \(line 4\): iteration -1 is negative"),
    ("fixations", "img1,v1,search,1,1", r"row 3 \(line 4\): `task` is 'search', expected one of"),
    ("fixations", "img1,v1,free,nan,1", r"row 3 \(line 4\): `x` is 'nan', not a number"),
]


@pytest.mark.parametrize("procedure, row, message", BAD)
def test_bad_rows_name_file_row_and_problem(tmp_path, procedure, row, message):
    path = _write(tmp_path, GOOD[procedure] + row + "\n", f"{procedure}.csv")
    with pytest.raises(InputError, match=message) as err:
        load_trials(path, procedure, IMAGES)
    assert str(err.value).startswith(str(path))


def test_parquet_rows_are_named_without_lines(tmp_path):
    frame = pd.DataFrame(
        {
            "image": ["img1", "img1"],
            "participant": ["a", "b"],
            "x": [1.0, 2.0],
            "y": [1.0, 2.0],
            "rating": [3, 9],
        }
    )
    path = tmp_path / "p.parquet"
    frame.to_parquet(path)
    with pytest.raises(InputError, match=r"p.parquet: row 2: rating 9 is outside 1-6"):
        load_trials(path, "patch", IMAGES)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "file is empty"),
        ("image,participant,x,y,rating\n", "no trials"),
        ("image,participant,x,y\nimg1,p,1,1\n", r"missing columns \['rating'\]"),
    ],
)
def test_empty_and_malformed_files(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(InputError, match=message) as err:
        load_trials(path, "patch", IMAGES)
    assert str(path) in str(err.value)


def test_missing_and_unknown_type_files(tmp_path):
    with pytest.raises(InputError, match="trial file not found"):
        load_trials(tmp_path / "absent.csv", "patch", IMAGES)
    with pytest.raises(InputError, match="unknown trial file type '.xlsx'"):
        load_trials(_write(tmp_path, "x", "t.xlsx"), "patch", IMAGES)
