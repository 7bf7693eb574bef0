import numpy as np
import pytest

from lib.compare.blur import sigma_grid
from lib.compare.crossval import crossvalidate, random_splits
from lib.errors import InputError


def test_identical_halves_give_identical_train_and_test(rng):
    # 2k images where image i + k repeats image i: training on one half, testing on the other
    # must give the same sigma and the same score.
    half = rng.normal(0.3, 0.2, (3, 2, 7, 6))  # (map_type, human_map, sigma, image)
    table = np.concatenate([half, half], axis=-1)
    train = np.arange(6)[None]
    test = np.arange(6, 12)[None]
    res = crossvalidate(table, sigma_grid(6), train, test)
    np.testing.assert_allclose(res["test_r"], res["train_r"], atol=1e-15)
    np.testing.assert_array_equal(res["sigma"][..., 0], np.argmax(half.mean(-1), axis=-1))


def test_crossvalidate_matches_a_direct_loop(rng):
    table = rng.normal(0.3, 0.2, (2, 3, 5, 25))
    sigmas = np.arange(5) * 2.0
    train, test = random_splits(25, 7, 12, seed=3)
    res = crossvalidate(table, sigmas, train, test)
    for t in range(2):
        for k in range(3):
            for p in range(7):
                train_curve = table[t, k][:, train[p]].mean(axis=1)
                best = int(np.argmax(train_curve))
                assert res["train_r"][t, k, p] == pytest.approx(train_curve[best])
                assert res["sigma"][t, k, p] == sigmas[best]
                assert res["test_r"][t, k, p] == pytest.approx(table[t, k, best, test[p]].mean())


def test_random_splits_partition_and_repeat():
    train, test = random_splits(25, 100, 12, seed=0)
    assert train.shape == (100, 12) and test.shape == (100, 13)
    for a, b in zip(train, test, strict=True):
        assert sorted(np.concatenate([a, b])) == list(range(25))
    again, _ = random_splits(25, 100, 12, seed=0)
    np.testing.assert_array_equal(train, again)
    other, _ = random_splits(25, 100, 12, seed=1)
    assert not np.array_equal(train, other)
    assert len({tuple(row) for row in train}) > 90  # random, not one split repeated


@pytest.mark.parametrize(
    "kwargs,key",
    [
        ({"n_train": 25}, "n_train"),
        ({"n_train": 0}, "n_train"),
        ({"n_splits": 0}, "n_splits"),
        ({"seed": -1}, "seed"),
        ({"n_train": 1.5}, "n_train"),
    ],
)
def test_bad_split_params(kwargs, key):
    args = {"n_images": 25, "n_splits": 10, "n_train": 12, "seed": 0} | kwargs
    with pytest.raises(InputError, match=f"crossval.{key}"):
        random_splits(**args)
