"""Split strings against a table of expected row ranges, and against integer arithmetic with
banker's rounding (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrowds.builders.splits import SplitRange, even_sizes, parse, to_ranges

SIZES = {"train": 20, "test": 7}

# (split string, sizes, expected ranges) - rows checked by hand against TFDS 4.9.10 (SEED 2.3)
TABLE = [
    ("train", SIZES, [("train", 0, 20)]),
    ("train[:10]", SIZES, [("train", 0, 10)]),
    ("train[80%:]", SIZES, [("train", 16, 20)]),
    ("train[10%:20%]", SIZES, [("train", 2, 4)]),
    ("train[-3:]", SIZES, [("train", 17, 20)]),
    ("train[:-5]", SIZES, [("train", 0, 15)]),
    ("train+test", SIZES, [("train", 0, 20), ("test", 0, 7)]),
    ("train[:50%]+test[:10]", {"train": 20, "test": 20}, [("train", 0, 10), ("test", 0, 10)]),
    ("all", SIZES, [("train", 0, 20), ("test", 0, 7)]),
    ("test[:50%]", SIZES, [("test", 0, 4)]),       # 3.5 -> 4
    ("train[:12.5%]", SIZES, [("train", 0, 2)]),   # 2.5 -> 2 (banker's)
    ("train[:17.5%]", SIZES, [("train", 0, 4)]),   # 3.5 -> 4
    ("test[:10%]", SIZES, [("test", 0, 1)]),       # 0.7 -> 1
    ("test[-50%:]", SIZES, [("test", 3, 7)]),      # -3.5 -> -4
    ("train[25%:75%]", {"train": 10}, [("train", 2, 8)]),  # 2.5 -> 2, 7.5 -> 8
    ("val-1[1:2]", {"val-1": 3}, [("val-1", 1, 2)]),
]


@pytest.mark.parametrize("split,sizes,expected", TABLE)
def test_table_of_expected_ranges(split, sizes, expected):
    assert to_ranges(split, sizes) == [SplitRange(*e) for e in expected]


@pytest.mark.parametrize("split,message", [
    ("train[::2]", "Error parsing split 'train[::2]'. See format at: "
                   "https://www.tensorflow.org/datasets/splits"),
    ("train[0]", "Error parsing split 'train[0]'"),
    ("train[1%:5]", "Error parsing split"),
    ("train[1.5:]", "Error parsing split"),
    ("", "Error parsing split"),
    ("train[:30]", "Requested slice [:30] incompatible with 20 examples."),
    ("valid", "Unknown split 'valid'. Should be one of ['train', 'test']."),
    ("test[:7%]", "Instruction [] corresponds to no data!"),
    ("train[5:5]", "Instruction [] corresponds to no data!"),
    ("train[:101%]", "Error parsing split"),
])
def test_errors_have_tfds_text(split, message):
    with pytest.raises(ValueError) as e:
        to_ranges(split, SIZES)
    assert message in str(e.value)


def test_all_cannot_be_sliced_and_shards_do_not_exist():
    with pytest.raises(NotImplementedError, match="Error parsing split 'all\\[:50%\\]'"):
        parse("all[:50%]")
    with pytest.raises(NotImplementedError, match="shard"):
        parse("train[:1shard]")


def test_pct1_dropremainder():
    got = to_ranges("train[:10%]", {"train": 250}, rounding="pct1_dropremainder")
    assert got == [SplitRange("train", 0, 20)]
    with pytest.raises(ValueError, match="less than 100 elements is forbidden"):
        to_ranges("train[:10%]", {"train": 99}, rounding="pct1_dropremainder")


def test_even_sizes_gives_remainder_to_first_parts():
    assert even_sizes(20, 3) == [7, 7, 6]
    assert even_sizes(2, 4) == [1, 1, 0, 0]


# -- properties against an integer oracle ---------------------------------------------------
def round_half_even(num: int, den: int) -> int:
    """num / den rounded to the nearest integer, ties to even, in integers only."""
    q, r = divmod(num, den)  # floor division: 0 <= r < den
    if 2 * r > den or (2 * r == den and q % 2 == 1):
        q += 1
    return q


def oracle(n: int, a: int | None, b: int | None, pct: bool) -> tuple[int, int]:
    def bound(v: int | None, default: int) -> int:
        if v is None:
            return default
        v = round_half_even(v * n, 100) if pct else v
        v = v + n if v < 0 else v
        return min(max(v, 0), n)
    lo, hi = bound(a, 0), bound(b, n)
    return lo, max(lo, hi)


bounds_pct = st.one_of(st.none(), st.integers(-100, 100))


@given(n=st.integers(1, 1000), a=bounds_pct, b=bounds_pct)
def test_percent_slices_match_integer_arithmetic(n, a, b):
    text = f"train[{'' if a is None else f'{a}%'}:{'' if b is None else f'{b}%'}]"
    lo, hi = oracle(n, a, b, pct=True)
    if hi == lo:
        with pytest.raises(ValueError, match="corresponds to no data"):
            to_ranges(text, {"train": n})
    else:
        assert to_ranges(text, {"train": n}) == [SplitRange("train", lo, hi)]


@given(data=st.data(), n=st.integers(1, 300))
def test_absolute_slices_match_python_slicing(data, n):
    a = data.draw(st.one_of(st.none(), st.integers(-n, n)))
    b = data.draw(st.one_of(st.none(), st.integers(-n, n)))
    text = f"train[{'' if a is None else a}:{'' if b is None else b}]"
    rows = list(range(n))[a:b]
    if not rows:
        with pytest.raises(ValueError, match="corresponds to no data"):
            to_ranges(text, {"train": n})
    else:
        assert to_ranges(text, {"train": n}) == [SplitRange("train", rows[0], rows[-1] + 1)]


@given(n=st.integers(1, 200), m=st.integers(1, 200), p=st.integers(1, 100), q=st.integers(1, 100))
def test_union_concatenates_terms_in_order(n, m, p, q):
    want = [SplitRange("train", *oracle(n, None, p, True)),
            SplitRange("test", *oracle(m, -q, None, True))]
    want = [r for r in want if r.num_examples]
    if not want:
        with pytest.raises(ValueError, match="corresponds to no data"):
            to_ranges(f"train[:{p}%]+test[-{q}%:]", {"train": n, "test": m})
        return
    assert to_ranges(f"train[:{p}%]+test[-{q}%:]", {"train": n, "test": m}) == want
