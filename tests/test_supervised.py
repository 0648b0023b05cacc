"""Tests for :func:`sklearn_rnn.make_supervised`.

``make_supervised`` decides which future value each row is trained to
predict, so an off-by-one here silently turns forecasting into copying. The
tests compare against targets written out by hand, then check the shape rules
of API.md (1-D against 2-D ``y``, step-major columns), pandas in and out, and
the errors.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_rnn import make_supervised

# Three columns whose values tell row and column apart: column j at row t is
# 10 * t + j.
TABLE = np.arange(6)[:, None] * 10.0 + np.arange(3)[None, :]


# --------------------------------------------------------------------------
# Univariate arrays
# --------------------------------------------------------------------------


def test_one_step_ahead_hand_computed():
    X, y = make_supervised(np.array([3.0, 1.0, 4.0, 1.0, 5.0]))
    np.testing.assert_array_equal(X, [[3.0], [1.0], [4.0], [1.0]])
    np.testing.assert_array_equal(y, [1.0, 4.0, 1.0, 5.0])
    assert X.ndim == 2
    assert y.ndim == 1


@pytest.mark.parametrize("horizon", [1, 2, 3, 5])
def test_horizon_shifts_target(horizon):
    data = np.arange(10.0) ** 2
    X, y = make_supervised(data, horizon=horizon)
    n = 10 - horizon
    assert X.shape == (n, 1)
    assert y.shape == (n,)
    np.testing.assert_array_equal(X[:, 0], data[:n])
    for t in range(n):
        assert y[t] == data[t + horizon]


def test_horizon_two_hand_computed():
    X, y = make_supervised(np.array([1.0, 2.0, 4.0, 8.0, 16.0]), horizon=2)
    np.testing.assert_array_equal(X[:, 0], [1.0, 2.0, 4.0])
    np.testing.assert_array_equal(y, [4.0, 8.0, 16.0])


def test_n_steps_hand_computed():
    X, y = make_supervised(np.arange(6.0), horizon=2, n_steps=3)
    # 6 - 2 - 3 + 1 = 2 rows; y[t] = data[t + 2 : t + 5].
    np.testing.assert_array_equal(X, [[0.0], [1.0]])
    np.testing.assert_array_equal(y, [[2.0, 3.0, 4.0], [3.0, 4.0, 5.0]])


@pytest.mark.parametrize("horizon", [1, 3])
@pytest.mark.parametrize("n_steps", [1, 2, 4])
def test_row_count_is_n_minus_horizon_minus_n_steps_plus_one(horizon, n_steps):
    X, y = make_supervised(np.arange(20.0), horizon=horizon, n_steps=n_steps)
    n = 20 - horizon - n_steps + 1
    assert X.shape[0] == n
    assert y.shape[0] == n


def test_shortest_series_gives_one_row():
    X, y = make_supervised(np.array([7.0, 8.0, 9.0]), horizon=2, n_steps=1)
    np.testing.assert_array_equal(X, [[7.0]])
    np.testing.assert_array_equal(y, [9.0])
    X, y = make_supervised(np.array([7.0, 8.0, 9.0]), horizon=1, n_steps=2)
    np.testing.assert_array_equal(y, [[8.0, 9.0]])


def test_list_input_accepted():
    X, y = make_supervised([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(X, [[1.0], [2.0]])
    np.testing.assert_array_equal(y, [2.0, 3.0])


def test_input_not_modified():
    data = TABLE.copy()
    make_supervised(data, horizon=2, n_steps=2)
    np.testing.assert_array_equal(data, TABLE)


@pytest.mark.parametrize("kind", ["1-D", "2-D", "Series", "DataFrame"])
def test_editing_x_in_place_leaves_the_data_and_y_as_they_were(kind):
    values = TABLE[:, 0] if kind in ("1-D", "Series") else TABLE
    if kind == "Series":
        data = pd.Series(values, name="s")
    elif kind == "DataFrame":
        data = pd.DataFrame(values)
    else:
        data = values.copy()
    X, y = make_supervised(data, target=0 if kind != "Series" else "s")
    y_before = np.asarray(y).copy()
    X_np = X.to_numpy() if hasattr(X, "to_numpy") else X
    assert not np.shares_memory(X_np, np.asarray(data))
    if hasattr(X, "iloc"):
        X.iloc[0, 0] = -999.0
    else:
        X[0, 0] = -999.0
    np.testing.assert_array_equal(np.asarray(data), values)
    np.testing.assert_array_equal(np.asarray(y), y_before)


# --------------------------------------------------------------------------
# Multivariate arrays and target
# --------------------------------------------------------------------------


def test_all_columns_are_targets_by_default():
    X, y = make_supervised(TABLE)
    np.testing.assert_array_equal(X, TABLE[:5])
    assert y.shape == (5, 3)
    np.testing.assert_array_equal(y, TABLE[1:])


def test_n_steps_columns_are_step_major():
    X, y = make_supervised(TABLE, horizon=1, n_steps=2)
    # Columns: c0@t+1, c1@t+1, c2@t+1, c0@t+2, c1@t+2, c2@t+2.
    assert y.shape == (4, 6)
    np.testing.assert_array_equal(y[0], [10, 11, 12, 20, 21, 22])
    np.testing.assert_array_equal(y[3], [40, 41, 42, 50, 51, 52])


def test_step_major_with_target_list_and_horizon():
    X, y = make_supervised(TABLE, horizon=2, n_steps=2, target=[2, 0])
    # Columns: c2@t+2, c0@t+2, c2@t+3, c0@t+3; row 0 -> t+2 is row 2.
    np.testing.assert_array_equal(y[0], [22, 20, 32, 30])
    np.testing.assert_array_equal(y[1], [32, 30, 42, 40])
    assert y.shape == (3, 4)
    np.testing.assert_array_equal(X, TABLE[:3])


def test_scalar_target_gives_1d_y_and_keeps_all_columns_in_x():
    X, y = make_supervised(TABLE, target=1)
    # Past values of the target stay in X: they are its own history.
    np.testing.assert_array_equal(X, TABLE[:5])
    assert y.ndim == 1
    np.testing.assert_array_equal(y, [11, 21, 31, 41, 51])


def test_negative_target_index_counts_from_the_end():
    _, y = make_supervised(TABLE, target=-1)
    np.testing.assert_array_equal(y, TABLE[1:, 2])


def test_numpy_integer_target_is_a_scalar():
    _, y = make_supervised(TABLE, target=np.int64(2))
    assert y.ndim == 1
    np.testing.assert_array_equal(y, TABLE[1:, 2])


def test_list_target_gives_2d_y_even_for_one_column():
    _, y = make_supervised(TABLE, target=[1])
    assert y.shape == (5, 1)
    np.testing.assert_array_equal(y[:, 0], TABLE[1:, 1])


def test_scalar_target_with_n_steps_gives_2d_y():
    _, y = make_supervised(TABLE, target=0, n_steps=3)
    assert y.shape == (3, 3)
    np.testing.assert_array_equal(y, [[10, 20, 30], [20, 30, 40], [30, 40, 50]])


def test_single_column_2d_data_gives_1d_y():
    data = np.arange(5.0).reshape(-1, 1)
    X, y = make_supervised(data)
    assert X.shape == (4, 1)
    assert y.shape == (4,)
    np.testing.assert_array_equal(y, [1.0, 2.0, 3.0, 4.0])


def test_univariate_with_n_steps_gives_2d_y():
    _, y = make_supervised(np.arange(5.0), n_steps=2)
    assert y.shape == (3, 2)


def test_univariate_target_zero_is_scalar():
    _, y = make_supervised(np.arange(5.0), target=0)
    assert y.shape == (4,)


# --------------------------------------------------------------------------
# pandas
# --------------------------------------------------------------------------


def _frame():
    index = pd.date_range("2024-03-01", periods=6, freq="h")
    return pd.DataFrame(TABLE, columns=["load", "temp", "price"], index=index)


def test_dataframe_scalar_target_gives_series_with_same_index():
    df = _frame()
    X, y = make_supervised(df, target="load", horizon=2)
    assert isinstance(X, pd.DataFrame)
    assert isinstance(y, pd.Series)
    pd.testing.assert_frame_equal(X, df.iloc[:4])
    pd.testing.assert_index_equal(y.index, df.index[:4])
    np.testing.assert_array_equal(y, df["load"].to_numpy()[2:])


def test_dataframe_target_list_names_and_values():
    df = _frame()
    X, y = make_supervised(df, target=["price", "load"], n_steps=2)
    assert isinstance(y, pd.DataFrame)
    assert list(y.columns) == ["price_h1", "load_h1", "price_h2", "load_h2"]
    pd.testing.assert_index_equal(y.index, df.index[:4])
    pd.testing.assert_index_equal(X.index, df.index[:4])
    np.testing.assert_array_equal(y.iloc[0], [12, 10, 22, 20])
    np.testing.assert_array_equal(y["load_h2"], df["load"].to_numpy()[2:])


def test_dataframe_target_as_a_pandas_index_or_series_is_a_list():
    df = pd.DataFrame({"a": np.arange(8.0), "b": np.arange(8.0) * 2, "c": np.arange(8.0) * 3})
    _, y = make_supervised(df, target=df.columns[1:])
    assert list(y.columns) == ["b_h1", "c_h1"]
    _, y = make_supervised(df, target=pd.Index(["b"]))
    assert isinstance(y, pd.DataFrame) and list(y.columns) == ["b_h1"]
    _, y = make_supervised(df, target=pd.Series(["c", "a"]))
    assert list(y.columns) == ["c_h1", "a_h1"]


def test_dataframe_default_target_is_every_column():
    df = _frame()
    X, y = make_supervised(df)
    assert list(X.columns) == ["load", "temp", "price"]
    assert list(y.columns) == ["load_h1", "temp_h1", "price_h1"]
    np.testing.assert_array_equal(y, TABLE[1:])


def test_dataframe_single_target_list_gives_dataframe():
    _, y = make_supervised(_frame(), target=["temp"])
    assert isinstance(y, pd.DataFrame)
    assert list(y.columns) == ["temp_h1"]


def test_dataframe_column_names_count_steps_ahead_of_t():
    # "temp_h2" is temp two steps after row t. With horizon=2 the first target
    # lies two steps ahead, so it must not be labelled as if it were one.
    _, y = make_supervised(_frame(), target="temp", horizon=2, n_steps=2)
    assert list(y.columns) == ["temp_h2", "temp_h3"]
    np.testing.assert_array_equal(y.iloc[0], [21, 31])


def test_dataframe_integer_column_names():
    df = pd.DataFrame(TABLE, columns=[10, 20, 30])
    _, y = make_supervised(df, target=[30], n_steps=1)
    assert list(y.columns) == ["30_h1"]
    np.testing.assert_array_equal(y.iloc[:, 0], TABLE[1:, 2])


def _multi_frame():
    columns = pd.MultiIndex.from_tuples([("north", "load"), ("north", "temp"), ("south", "load")])
    return pd.DataFrame(TABLE, columns=columns)


def test_multiindex_column_named_by_its_tuple_is_one_target():
    df = _multi_frame()
    X, y = make_supervised(df, target=("south", "load"))
    assert isinstance(y, pd.Series)
    assert y.name == ("south", "load")
    np.testing.assert_array_equal(y, TABLE[1:, 2])
    pd.testing.assert_frame_equal(X, df.iloc[:5])


def test_multiindex_columns_in_a_list_and_their_names():
    df = _multi_frame()
    _, y = make_supervised(df, target=[("south", "load"), ("north", "load")], n_steps=2)
    assert isinstance(y.columns, pd.MultiIndex)
    assert list(y.columns) == [
        ("south", "load_h1"),
        ("north", "load_h1"),
        ("south", "load_h2"),
        ("north", "load_h2"),
    ]
    np.testing.assert_array_equal(y.iloc[0], [12, 10, 22, 20])
    _, y = make_supervised(df, target=("north", "temp"), n_steps=2)
    assert list(y.columns) == [("north", "temp_h1"), ("north", "temp_h2")]


def test_tuple_of_plain_column_names_is_still_a_list():
    _, y = make_supervised(_frame(), target=("price", "load"))
    assert list(y.columns) == ["price_h1", "load_h1"]


def test_unknown_multiindex_column_rejected():
    with pytest.raises(ValueError, match=r"\('east', 'load'\) is not a column"):
        make_supervised(_multi_frame(), target=("east", "load"))


def test_series_gives_one_column_dataframe_and_series():
    index = pd.RangeIndex(100, 106)
    s = pd.Series(np.arange(6.0) * 2, index=index, name="sales")
    X, y = make_supervised(s, horizon=1)
    assert isinstance(X, pd.DataFrame)
    assert list(X.columns) == ["sales"]
    pd.testing.assert_index_equal(X.index, index[:5])
    assert isinstance(y, pd.Series)
    assert y.name == "sales"
    pd.testing.assert_index_equal(y.index, index[:5])
    np.testing.assert_array_equal(y, [2.0, 4.0, 6.0, 8.0, 10.0])


def test_series_with_n_steps_gives_named_dataframe():
    s = pd.Series(np.arange(6.0), name="sales", index=list("abcdef"))
    X, y = make_supervised(s, n_steps=2)
    assert list(y.columns) == ["sales_h1", "sales_h2"]
    assert list(y.index) == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(y.loc["c"], [3.0, 4.0])
    assert X.shape == (4, 1)


def test_unnamed_series_gives_one_column_dataframe():
    X, y = make_supervised(pd.Series([1.0, 2.0, 3.0]))
    assert isinstance(X, pd.DataFrame)
    assert X.shape == (2, 1)
    np.testing.assert_array_equal(y, [2.0, 3.0])


def test_non_default_index_is_kept_not_reset():
    df = _frame()
    df.index = pd.Index([50, 40, 30, 20, 10, 0])
    X, y = make_supervised(df, target="load")
    assert list(X.index) == [50, 40, 30, 20, 10]
    assert list(y.index) == [50, 40, 30, 20, 10]


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n, horizon, n_steps", [(1, 1, 1), (3, 3, 1), (3, 1, 3), (4, 2, 3), (0, 1, 1)]
)
def test_too_short_series_rejected(n, horizon, n_steps):
    with pytest.raises(ValueError, match=rf"{n} time steps, too few.*horizon={horizon}"):
        make_supervised(np.arange(float(n)), horizon=horizon, n_steps=n_steps)


def test_too_short_dataframe_rejected():
    with pytest.raises(ValueError, match="too few"):
        make_supervised(_frame(), horizon=4, n_steps=3)


@pytest.mark.parametrize("name", ["horizon", "n_steps"])
@pytest.mark.parametrize("value", [0, -1])
def test_horizon_and_n_steps_below_one_rejected(name, value):
    with pytest.raises(ValueError, match=rf"{name} must be an int >= 1, got {value}"):
        make_supervised(np.arange(10.0), **{name: value})


@pytest.mark.parametrize("name", ["horizon", "n_steps"])
@pytest.mark.parametrize("value", [1.5, "2"])
def test_horizon_and_n_steps_not_an_int_raise_value_error(name, value):
    # API.md: "bad horizon/n_steps ... ValueError saying which and why", so a
    # caller's `except ValueError` must catch a float or string horizon too.
    with pytest.raises(ValueError, match=rf"{name} must be an int >= 1"):
        make_supervised(np.arange(10.0), **{name: value})


def test_numpy_integer_horizon_accepted():
    _, y = make_supervised(np.arange(6.0), horizon=np.int32(2), n_steps=np.int64(2))
    np.testing.assert_array_equal(y[0], [2.0, 3.0])


@pytest.mark.parametrize("target", ["nope", ["load", "nope"]])
def test_unknown_dataframe_column_rejected(target):
    with pytest.raises(ValueError, match=r"target 'nope' is not a column of data.*load"):
        make_supervised(_frame(), target=target)


def test_column_position_is_not_a_dataframe_name():
    with pytest.raises(ValueError, match="target 0 is not a column of data"):
        make_supervised(_frame(), target=0)


@pytest.mark.parametrize("target", [3, -4, [0, 5]])
def test_out_of_range_index_rejected(target):
    with pytest.raises(ValueError, match="out of range for data with 3 column"):
        make_supervised(TABLE, target=target)


@pytest.mark.parametrize("target", ["load", 1.0, True])
def test_non_integer_target_for_array_rejected(target):
    with pytest.raises(ValueError, match="must be a column index"):
        make_supervised(TABLE, target=target)


def test_empty_target_list_rejected():
    with pytest.raises(ValueError, match="target is an empty list"):
        make_supervised(TABLE, target=[])


def test_3d_data_rejected():
    with pytest.raises(ValueError, match="3 dimensions"):
        make_supervised(np.zeros((5, 2, 2)))


def test_data_without_columns_rejected():
    with pytest.raises(ValueError, match="no columns"):
        make_supervised(np.zeros((5, 0)))


def test_string_data_rejected():
    with pytest.raises((TypeError, ValueError), match="must hold numbers"):
        make_supervised(np.array(["a", "b", "c"]))


# --------------------------------------------------------------------------
# Property-based alignment
# --------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(
    n=st.integers(2, 15),
    n_features=st.integers(1, 3),
    horizon=st.integers(1, 4),
    n_steps=st.integers(1, 4),
    data=st.data(),
)
def test_property_targets_align_with_future_rows(n, n_features, horizon, n_steps, data):
    values = np.arange(n * n_features, dtype=float).reshape(n, n_features)
    target = data.draw(
        st.one_of(
            st.none(),
            st.integers(0, n_features - 1),
            st.lists(st.integers(0, n_features - 1), min_size=1, max_size=3),
        )
    )
    if n < horizon + n_steps:
        with pytest.raises(ValueError, match="too few"):
            make_supervised(values, horizon=horizon, n_steps=n_steps, target=target)
        return
    X, y = make_supervised(values, horizon=horizon, n_steps=n_steps, target=target)

    rows = n - horizon - n_steps + 1
    if target is None:
        cols = list(range(n_features))
    elif isinstance(target, list):
        cols = target
    else:
        cols = [target]
    one_d = n_steps == 1 and (
        not isinstance(target, list) and (target is not None or n_features == 1)
    )

    np.testing.assert_array_equal(X, values[:rows])
    assert y.ndim == (1 if one_d else 2)
    y2 = y.reshape(rows, -1)
    assert y2.shape[1] == n_steps * len(cols)
    for t in range(rows):
        for k in range(n_steps):
            for j, col in enumerate(cols):
                assert y2[t, k * len(cols) + j] == values[t + horizon + k, col]


def test_target_keeps_its_dtype_whatever_the_other_columns():
    # y is the target column shifted, as df["sales"].shift(-1) would give it:
    # its dtype is not the common dtype of every column of the frame.
    n = 6
    df = pd.DataFrame(
        {
            "sales": np.arange(n, dtype=np.float32),
            "store": ["a"] * n,
            "day": pd.date_range("2024-01-01", periods=n),
            "promo": np.arange(n, dtype=np.int64),
        }
    )
    X, y = make_supervised(df, target="sales")
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.arange(1, n, dtype=np.float32))
    assert X.dtypes.equals(df.dtypes)
    # Several targets: each column keeps its own dtype, not the frame's
    # common one (object here) nor theirs (float64).
    _, y = make_supervised(df, target=["sales", "promo"], n_steps=2)
    assert list(y.dtypes) == [np.float32, np.int64] * 2
    np.testing.assert_array_equal(y["promo_h2"], np.arange(2, n + 1, dtype=np.int64)[: n - 2])
    # A nullable integer target stays nullable beside a float one.
    df["count"] = pd.array(range(n), dtype="Int64")
    _, y = make_supervised(df, target=["count", "sales"])
    assert list(y.dtypes) == [pd.Int64Dtype(), np.float32]
    assert y["count_h1"].tolist() == [1, 2, 3, 4, 5]
    assert y.index.equals(df.index[: n - 1])


def test_bool_target_names_only_a_bool_column_label():
    # True == 1, but True does not name the column labelled 1.
    frame = pd.DataFrame(np.arange(18.0).reshape(6, 3))
    with pytest.raises(ValueError, match="target True is not a column of data"):
        make_supervised(frame, target=True)
    with pytest.raises(ValueError, match="target False is not a column of data"):
        make_supervised(frame, target=[2, False])
    labelled = pd.DataFrame(np.c_[np.arange(4.0) * 10, np.arange(4.0)], columns=[1, True])
    _, y = make_supervised(labelled, target=True)
    assert y.tolist() == [1.0, 2.0, 3.0]
    _, y = make_supervised(labelled, target=1)
    assert y.tolist() == [10.0, 20.0, 30.0]
    flipped = labelled[[True, 1]]
    assert make_supervised(flipped, target=1)[1].tolist() == [10.0, 20.0, 30.0]


def test_zero_dimensional_array_target_is_its_value():
    _, y = make_supervised(TABLE, target=np.array(1))
    np.testing.assert_array_equal(y, make_supervised(TABLE, target=1)[1])
    assert y.ndim == 1
