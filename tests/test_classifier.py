"""Functional tests of RNNClassifier: learning an order, labels, probabilities,
class and sample weights, incremental training, early stopping, padding,
custom modules, errors and persistence.

Networks are tiny and epochs few so that the file runs in seconds on two cores.
"""

import copy
import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.multioutput import MultiOutputClassifier
from sklearn.utils import compute_sample_weight
from torch import nn

from sklearn_rnn import RNNClassifier

TINY = dict(hidden_size=4, max_epochs=2, batch_size=16, random_state=0)
# Enough to learn the spike-and-dip order in about a second.
QUICK = dict(cell="gru", hidden_size=16, lr=1e-2, max_epochs=12, batch_size=32, random_state=0)


def spike_and_dip(n=200, n_steps=10, seed=0):
    """Noise with one spike (+3) and one dip (-3) at random steps; the label
    says which comes first. Both classes hold the same bag of values, so only
    the order of the steps tells them apart."""
    rng = np.random.default_rng(seed)
    X = 0.3 * rng.normal(size=(n, n_steps, 1))
    spike = rng.integers(0, n_steps, size=n)
    dip = (spike + rng.integers(1, n_steps, size=n)) % n_steps
    X[np.arange(n), spike, 0] += 3.0
    X[np.arange(n), dip, 0] -= 3.0
    y = np.where(spike < dip, "spike first", "dip first")
    return X, y


def three_classes(n=60, n_steps=5, seed=0):
    """Three classes told apart by the sign of the first and the last step."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_steps, 2))
    y = np.where(X[:, 0, 0] > 0, 2, np.where(X[:, -1, 1] > 0, 1, 0))
    return X, y


def pad_front(seq, n_pad):
    """``seq`` (T, F) with ``n_pad`` leading NaN steps, as the windower pads."""
    return np.concatenate([np.full((n_pad, seq.shape[1]), np.nan), seq])


class LastStep(nn.Module):
    """Linear head on the last step; ``scale`` stretches the logits."""

    def __init__(self, n_features, n_outputs, scale=1.0):
        super().__init__()
        self.head = nn.Linear(n_features, n_outputs)
        self.scale = scale
        self.n_outputs = n_outputs

    def forward(self, X, lengths):
        return self.head(X[:, -1]) * self.scale


@pytest.fixture(scope="module")
def order_model():
    X, y = spike_and_dip()
    return RNNClassifier(**QUICK).fit(X, y)


@pytest.fixture(scope="module")
def multiclass_model():
    X, y = three_classes()
    return RNNClassifier(**{**TINY, "max_epochs": 5}).fit(X, y), X


# ---------------------------------------------------------------- learning


def test_learns_an_order_that_a_bag_of_values_cannot(order_model):
    X_test, y_test = spike_and_dip(300, seed=1)
    assert order_model.score(X_test, y_test) > 0.9
    assert order_model.loss_curve_[-1] < 0.2 * order_model.loss_curve_[0]
    # A model of the bag of values (the sorted steps) sees the same values in
    # both classes and is no better than a coin.
    X, y = spike_and_dip()
    bag = LogisticRegression().fit(np.sort(X[:, :, 0], axis=1), y)
    assert bag.score(np.sort(X_test[:, :, 0], axis=1), y_test) < 0.65


# ------------------------------------------------------------------ labels


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["cat", "dog"]),
        np.array(["cat", "dog"], dtype=object),
        np.array([-1, 1]),
        np.array([False, True]),
        np.array([1.0, 3.0]),
    ],
    ids=["str", "object", "int", "bool", "float"],
)
def test_labels_are_kept_as_given(labels):
    X, y = spike_and_dip(n=40)
    y_labels = labels[(y == "spike first").astype(int)]
    model = RNNClassifier(**TINY).fit(X, y_labels)
    assert_array_equal(model.classes_, labels)
    assert model.classes_.dtype == labels.dtype
    pred = model.predict(X)
    assert pred.dtype == labels.dtype
    assert set(pred.tolist()) <= set(labels.tolist())


def test_string_labels_round_trip_through_predict(order_model):
    X, y = spike_and_dip(seed=2)
    assert_array_equal(order_model.classes_, ["dip first", "spike first"])
    pred = order_model.predict(X)
    assert pred.shape == (len(X),)
    assert np.mean(pred == y) > 0.9
    assert order_model.score(X, y) == np.mean(pred == y)


def test_multiclass_labels_follow_classes_order():
    X, y = three_classes()
    names = np.array(["zero", "one", "two"])[y]
    model = RNNClassifier(**{**TINY, "max_epochs": 5}).fit(X, names)
    assert_array_equal(model.classes_, ["one", "two", "zero"])
    assert model.predict_proba(X).shape == (len(X), 3)


# ------------------------------------------------------------ probabilities


def test_predict_proba_sums_to_one_and_argmax_is_predict(multiclass_model):
    model, X = multiclass_model
    proba = model.predict_proba(X)
    assert proba.dtype == np.float64
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert_array_equal(model.classes_[proba.argmax(axis=1)], model.predict(X))


def test_probabilities_are_the_softmax_of_the_module_logits(multiclass_model):
    model, X = multiclass_model
    with torch.no_grad():
        logits = model.module_(torch.from_numpy(X.astype(np.float32)))
    expected = torch.softmax(logits.double(), dim=1).numpy()
    assert_allclose(model.predict_proba(X), expected, rtol=1e-6)
    assert_allclose(model.decision_function(X), logits.numpy(), rtol=1e-6)


def test_log_proba_is_the_log_of_proba(multiclass_model):
    model, X = multiclass_model
    assert_allclose(model.predict_log_proba(X), np.log(model.predict_proba(X)), rtol=1e-10)


def test_log_proba_stays_finite_where_proba_underflows():
    X, y = spike_and_dip(n=40)
    # Logits thousands apart: exp underflows to 0, the log-softmax does not.
    model = RNNClassifier(
        module=LastStep, module_kwargs={"scale": 1e4}, max_epochs=1, random_state=0
    ).fit(X, y)
    log_proba = model.predict_log_proba(X)
    assert np.isfinite(log_proba).all()
    assert (log_proba < -700).any()
    assert_allclose(np.exp(log_proba), model.predict_proba(X))
    assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)


def test_binary_decision_function_is_one_logit_difference(order_model):
    X, _ = spike_and_dip(seed=3)
    decision = order_model.decision_function(X)
    assert decision.shape == (len(X),)
    assert_array_equal(order_model.classes_[(decision > 0).astype(int)], order_model.predict(X))
    proba = order_model.predict_proba(X)
    # The softmax of two logits is the logistic function of their difference.
    assert_allclose(proba[:, 1], 1 / (1 + np.exp(-decision)), rtol=1e-9)


def test_multiclass_decision_function_has_one_column_per_class(multiclass_model):
    model, X = multiclass_model
    decision = model.decision_function(X)
    assert decision.shape == (len(X), 3)
    assert_array_equal(model.classes_[decision.argmax(axis=1)], model.predict(X))


# ----------------------------------------------------------------- weights


def imbalanced(n=200, seed=0):
    """A noisy two-class problem where the minority class is 10% of the rows."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.1).astype(int)
    X = rng.normal(size=(n, 4, 1)) + 0.8 * y[:, None, None]
    return X, y


def test_class_weight_balanced_predicts_the_minority_more_often():
    X, y = imbalanced()
    params = dict(hidden_size=8, lr=1e-2, max_epochs=15, batch_size=32, random_state=0)
    plain = RNNClassifier(**params).fit(X, y)
    balanced = RNNClassifier(**params, class_weight="balanced").fit(X, y)
    minority_plain = np.mean(plain.predict(X) == 1)
    minority_balanced = np.mean(balanced.predict(X) == 1)
    assert minority_plain < 0.1
    assert minority_balanced > minority_plain + 0.1


def test_class_weight_dict_is_a_sample_weight_per_class():
    X, y = three_classes()
    sample_weight = np.linspace(0.5, 1.5, len(y))
    class_weight = {0: 3.0, 2: 0.5}
    a = RNNClassifier(**TINY, class_weight=class_weight).fit(X, y, sample_weight=sample_weight)
    combined = sample_weight * compute_sample_weight(class_weight, y)
    b = RNNClassifier(**TINY).fit(X, y, sample_weight=combined)
    assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-6)
    c = RNNClassifier(**TINY).fit(X, y, sample_weight=sample_weight)
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X), rtol=1e-4)


# Full batches in a fixed order: both fits take the same gradient steps up to
# float32 rounding.
FULL_BATCH = dict(hidden_size=4, max_epochs=10, lr=0.01, batch_size=128, shuffle=False)


def test_zero_sample_weight_is_like_dropping_the_samples():
    X, y = three_classes()
    keep = np.arange(len(y)) % 4 != 0
    weighted = RNNClassifier(**FULL_BATCH, random_state=0)
    weighted.fit(X, y, sample_weight=keep.astype(float))
    dropped = RNNClassifier(**FULL_BATCH, random_state=0).fit(X[keep], y[keep])
    assert_allclose(weighted.predict_proba(X), dropped.predict_proba(X), rtol=1e-3, atol=1e-5)
    unweighted = RNNClassifier(**FULL_BATCH, random_state=0).fit(X, y)
    assert not np.allclose(
        unweighted.predict_proba(X), dropped.predict_proba(X), rtol=1e-3, atol=1e-5
    )


def test_sample_weight_two_is_like_a_duplicated_row():
    X, y = three_classes()
    weight = np.where(np.arange(len(y)) % 3 == 0, 2.0, 1.0)
    repeat = np.repeat(np.arange(len(y)), weight.astype(int))
    weighted = RNNClassifier(**FULL_BATCH, random_state=0).fit(X, y, sample_weight=weight)
    repeated = RNNClassifier(**FULL_BATCH, random_state=0).fit(X[repeat], y[repeat])
    assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-3, atol=1e-5)


def test_sample_weight_removing_a_class_predicts_the_other():
    X, y = spike_and_dip(n=40)
    weight = (y == "spike first").astype(float)
    model = RNNClassifier(**{**TINY, "max_epochs": 20, "lr": 1e-2}).fit(X, y, weight)
    assert_array_equal(model.classes_, ["dip first", "spike first"])
    assert (model.predict(X) == "spike first").all()


# ------------------------------------------------------ incremental training


def test_classifier_keeps_the_last_epochs_weights_by_default():
    # Its benchmarks were measured without weight averaging.
    assert RNNClassifier().average == 0.0


def test_partial_fit_needs_classes_on_the_first_call():
    X, y = three_classes()
    model = RNNClassifier(**TINY)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        model.partial_fit(X, y)
    assert not hasattr(model, "classes_")


def test_partial_fit_classes_of_another_shape_is_an_error_naming_classes():
    X, y = three_classes()
    with pytest.raises(ValueError, match=r"classes must be 1-D.*shape \(1, 3\)"):
        RNNClassifier(**TINY).partial_fit(X, y, classes=[[0, 1, 2]])


def test_partial_fit_with_classes_accumulates_epochs():
    X, y = three_classes()
    model = RNNClassifier(**TINY)
    # The first batch holds two of the three classes.
    first = y != 2
    model.partial_fit(X[first], y[first], classes=[0, 1, 2])
    assert_array_equal(model.classes_, [0, 1, 2])
    assert model.predict_proba(X).shape == (len(X), 3)
    assert model.n_iter_ == 1
    before = model.predict_proba(X)
    model.partial_fit(X, y)
    model.partial_fit(X, y, classes=np.array([2, 1, 0]))
    assert model.n_iter_ == 3
    assert len(model.loss_curve_) == 3
    assert not np.allclose(model.predict_proba(X), before)


def test_partial_fit_checks_labels_against_classes():
    X, y = three_classes()
    with pytest.raises(ValueError, match=r"labels \[2\] that are not among the classes"):
        RNNClassifier(**TINY).partial_fit(X, y, classes=[0, 1])
    model = RNNClassifier(**TINY).partial_fit(X, y, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"labels \[7\].*classes_ of the fitted model"):
        model.partial_fit(X, np.full(len(y), 7))
    with pytest.raises(ValueError, match="is not the same as on the first call"):
        model.partial_fit(X, y, classes=[0, 1, 2])
    assert model.n_iter_ == 1


def test_partial_fit_refuses_balanced_class_weight():
    X, y = three_classes()
    model = RNNClassifier(**TINY, class_weight="balanced")
    with pytest.raises(ValueError, match="compute_class_weight"):
        model.partial_fit(X, y, classes=[0, 1, 2])


def test_class_weight_counts_in_a_later_batch_of_one_class():
    # The weights of a later partial_fit call are divided by the first call's
    # mean weight, not by their own: a batch of class 1 alone, weighed 4 by
    # class_weight, trains as that batch unweighted at the learning rate times
    # its relative weight (plain SGD: the step is the rate times the
    # gradient), not as the batch unweighted.
    X, y = three_classes()
    params = dict(TINY, optimizer="sgd", lr=0.05)
    first = RNNClassifier(**params, class_weight={1: 4.0}).partial_fit(X, y, classes=[0, 1, 2])
    relative = 4.0 / np.where(y == 1, 4.0, 1.0).mean()
    batch = y == 1
    weighted = copy.deepcopy(first).partial_fit(X[batch], y[batch])
    faster = copy.deepcopy(first).set_params(class_weight=None, lr=0.05 * relative)
    faster.partial_fit(X[batch], y[batch])
    plain = copy.deepcopy(first).set_params(class_weight=None).partial_fit(X[batch], y[batch])
    assert_allclose(weighted.predict_proba(X), faster.predict_proba(X), rtol=1e-5)
    assert not np.allclose(weighted.predict_proba(X), plain.predict_proba(X), rtol=1e-3)


def test_balanced_class_weight_counts_the_sample_weights():
    # A weight of 3 is the row three times: the classes are balanced as in
    # the repeated data (as LogisticRegression counts them).
    X, y = three_classes()
    weight = np.where(np.arange(len(y)) % 4 == 0, 3.0, 1.0)
    repeat = np.repeat(np.arange(len(y)), weight.astype(int))
    model = RNNClassifier(class_weight="balanced")
    weighted = model._sample_weight(y, weight, keep=False)
    repeated = model._sample_weight(y[repeat], None, keep=False)
    assert_allclose(np.repeat(weighted / weight, weight.astype(int)), repeated)
    assert_allclose(
        model._sample_weight(y, None, keep=False), compute_sample_weight("balanced", y)
    )


def test_class_weight_dict_weighs_batches_that_lack_a_weighted_class():
    X, y = three_classes()
    class_weight = {0: 3.0, 2: 0.5}
    model = RNNClassifier(**TINY, class_weight=class_weight)
    # A first batch, and a later one, without class 0: still weighed by the dict.
    model.partial_fit(X[y != 0], y[y != 0], classes=[0, 1, 2])
    model.partial_fit(X[y == 2], y[y == 2])
    assert model.n_iter_ == 2
    warm = RNNClassifier(**TINY, class_weight=class_weight, warm_start=True).fit(X, y)
    warm.fit(X[y == 1], y[y == 1])
    assert warm.n_iter_ == 2 * TINY["max_epochs"]
    # The same weights as the matching sample_weight, on a batch without class 0.
    rows = y != 0
    a = RNNClassifier(**TINY, class_weight=class_weight).partial_fit(
        X[rows], y[rows], classes=[0, 1, 2]
    )
    b = RNNClassifier(**TINY).partial_fit(
        X[rows], y[rows], classes=[0, 1, 2], sample_weight=np.where(y[rows] == 2, 0.5, 1.0)
    )
    assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-6)


@pytest.mark.parametrize(
    "class_weight, message",
    [
        ({5: 2.0}, r"class_weight names labels \[5\] that are not classes"),
        ({0: float("nan")}, r"class_weight\[0\] must be a finite number >= 0; got nan"),
        ({0: float("inf")}, r"class_weight\[0\] must be a finite number"),
        ({0: -0.5}, r"class_weight\[0\] must be a finite number >= 0"),
        ({0: 0.0, 1: 0.0, 2: 0.0}, "gives every class weight 0"),
    ],
)
def test_bad_class_weight_values_are_named(class_weight, message):
    X, y = three_classes()
    with pytest.raises(ValueError, match=message):
        RNNClassifier(**TINY, class_weight=class_weight).fit(X, y)


def test_partial_fit_continues_a_fit():
    X, y = three_classes()
    model = RNNClassifier(**TINY).fit(X, y)
    curve = list(model.loss_curve_)
    model.partial_fit(X[:10], y[:10])
    assert model.n_iter_ == 3
    assert model.loss_curve_[:2] == curve


def test_warm_start_continues_and_keeps_the_classes():
    X, y = three_classes()
    model = RNNClassifier(**TINY, warm_start=True).fit(X, y)
    curve = list(model.loss_curve_)
    model.fit(X[y != 0], y[y != 0])
    assert model.n_iter_ == 4
    assert model.loss_curve_[:2] == curve
    assert_array_equal(model.classes_, [0, 1, 2])
    with pytest.raises(ValueError, match=r"labels \[5\]"):
        model.fit(X, np.where(y == 0, 5, y))
    # Without warm_start, fit starts again and may change the classes.
    model.set_params(warm_start=False).fit(X, np.where(y == 0, 5, y))
    assert_array_equal(model.classes_, [1, 2, 5])
    assert model.n_iter_ == 2


# ---------------------------------------------------------- early stopping


def test_early_stopping_keeps_the_best_epoch_on_the_last_rows():
    # Random labels: the network can only overfit, so the validation loss
    # turns up after a few epochs.
    X, _ = spike_and_dip(n=160)
    y = np.random.default_rng(0).integers(0, 2, size=160)
    model = RNNClassifier(
        **{**QUICK, "lr": 0.05, "max_epochs": 60},
        early_stopping=True,
        validation_fraction=0.25,
        n_iter_no_change=3,
        tol=0.0,
    ).fit(X, y)
    curve = model.validation_loss_curve_
    assert len(curve) == model.n_iter_ < 60
    assert np.argmin(curve) < len(curve) - 1
    # The validation loss is the cross-entropy of the last quarter of the rows,
    # and the weights kept are those of its best epoch.
    tail = slice(120, 160)
    final = log_loss(y[tail], model.predict_proba(X[tail]), labels=model.classes_)
    assert_allclose(final, min(curve), rtol=1e-4)


# ------------------------------------------------------------------ padding


def test_padded_sample_predicts_as_its_shorter_sequence(order_model):
    rng = np.random.default_rng(4)
    seqs = [rng.normal(size=(k, 1)) for k in (10, 3, 7, 1)]
    alone = np.concatenate([order_model.predict_proba(s[None]) for s in seqs])
    batch = np.stack([pad_front(s, 10 - len(s)) for s in seqs])
    assert_allclose(order_model.predict_proba(batch), alone, rtol=1e-5, atol=1e-7)
    # A list of the sequences as they are (different lengths) is the same.
    assert_allclose(order_model.predict_proba(seqs), alone, rtol=1e-5, atol=1e-7)


def test_sequences_longer_than_in_training(order_model):
    X, y = spike_and_dip(n=200, n_steps=16, seed=5)
    assert order_model.score(X, y) > 0.8


def test_fit_on_a_list_of_sequences_of_different_lengths():
    rng = np.random.default_rng(6)
    X, y = spike_and_dip(n=200, n_steps=10)
    # Cut a random number of leading noise steps off sequences whose spike and
    # dip both come later: the label is unchanged.
    seqs = []
    for x in X:
        first = min(np.argmax(x[:, 0]), np.argmin(x[:, 0]))
        seqs.append(x[rng.integers(0, first + 1) :])
    assert len({len(s) for s in seqs}) > 3
    model = RNNClassifier(**QUICK).fit(seqs, y)
    assert model.n_features_in_ == 1
    assert model.score(seqs, y) > 0.9


# ----------------------------------------------------------- custom module


def test_custom_module_gets_one_output_per_class():
    X, y = three_classes()
    model = RNNClassifier(module=LastStep, max_epochs=3, random_state=0).fit(X, y)
    assert model.module_.n_outputs == 3
    with torch.no_grad():
        logits = model.module_(torch.from_numpy(X.astype(np.float32)), None)
    assert_allclose(model.decision_function(X), logits.numpy(), rtol=1e-6)
    X2, y2 = spike_and_dip(n=20)
    assert RNNClassifier(module=LastStep, max_epochs=1).fit(X2, y2).module_.n_outputs == 2


# ------------------------------------------------------------------- errors


def test_one_class_is_a_value_error_naming_the_class():
    X, _ = three_classes()
    model = RNNClassifier(**TINY)
    with pytest.raises(ValueError, match="at least 2 classes.*only one class: 'a'"):
        model.fit(X, np.full(len(X), "a"))
    assert not hasattr(model, "classes_")


def test_continuous_target_is_a_value_error():
    X, _ = three_classes()
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        RNNClassifier(**TINY).fit(X, np.linspace(0, 1, len(X)))


def test_column_vector_y_warns_and_fits_as_1d():
    X, y = three_classes()
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        column = RNNClassifier(**TINY).fit(X, y[:, None])
    flat = RNNClassifier(**TINY).fit(X, y)
    assert_array_equal(column.predict_proba(X), flat.predict_proba(X))


@pytest.mark.parametrize(
    "y2d",
    [np.array([[0, 1], [1, 0], [1, 1]] * 20), np.array([[0, 2], [1, 0], [2, 1]] * 20)],
    ids=["multilabel", "multiclass-multioutput"],
)
def test_several_labels_per_sequence_are_a_clear_value_error(y2d):
    X, _ = three_classes()
    with pytest.raises(ValueError, match="one label per sequence.*MultiOutputClassifier"):
        RNNClassifier(**TINY).fit(X, y2d)


def test_multi_output_classifier_is_the_way_to_several_labels():
    X, y = three_classes()
    Y = np.column_stack([y, y == 0])
    model = MultiOutputClassifier(RNNClassifier(**TINY)).fit(X, Y)
    assert model.predict(X).shape == (len(X), 2)


def test_mixed_label_types_are_a_value_error():
    X, _ = three_classes(n=4)
    with pytest.raises(ValueError, match="mixes labels of different types"):
        RNNClassifier(**TINY).fit(X, np.array(["a", 1, "b", 2], dtype=object))


def test_nan_label_is_a_value_error():
    X, _ = three_classes(n=4)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        RNNClassifier(**TINY).fit(X, [0.0, 1.0, np.nan, 1.0])


def test_bad_class_weight_is_a_parameter_error():
    X, y = three_classes()
    with pytest.raises(ValueError, match="class_weight"):
        RNNClassifier(**TINY, class_weight="even").fit(X, y)


def test_predict_before_fit_is_not_fitted_error():
    X, _ = three_classes()
    for method in ("predict", "predict_proba", "predict_log_proba", "decision_function"):
        with pytest.raises(NotFittedError):
            getattr(RNNClassifier(), method)(X)


# -------------------------------------------------------------- persistence


def test_pickle_and_joblib_round_trips_give_identical_probabilities(order_model, tmp_path):
    X, _ = spike_and_dip(seed=7)
    expected = order_model.predict_proba(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = pickle.loads(pickle.dumps(order_model))
    assert_array_equal(loaded.predict_proba(X), expected)
    assert_array_equal(loaded.classes_, order_model.classes_)
    joblib.dump(order_model, tmp_path / "model.joblib")
    assert_array_equal(joblib.load(tmp_path / "model.joblib").predict_proba(X), expected)


def test_clone_keeps_parameters_and_drops_the_fit(order_model):
    copy = clone(order_model)
    assert copy.get_params() == order_model.get_params()
    assert not hasattr(copy, "classes_")


@pytest.mark.parametrize("setting", [1, 2])
def test_fit_and_predict_use_at_most_torch_thread_setting(setting, fit_and_predict_threads):
    # Wide enough for the thread count to be timed (see _runtime.TUNED_WORK),
    # as for the regressor: the classifier trains through the same base.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1216, 30, 4)).astype(np.float32)
    y = np.where(X[:, -1, 0] > 0, "up", "down")
    fit, chunks, proba = fit_and_predict_threads(
        RNNClassifier, X, y, np.concatenate([X] * 15), setting
    )
    assert len(fit) == 2 * 19
    assert len(chunks) > 1
    assert_allclose(proba.sum(axis=1), 1.0)


def test_small_fits_run_on_one_thread_and_repeat_exactly(threads_seen, restore_torch_threads):
    torch.set_num_threads(2)
    X, y = spike_and_dip(n=120)
    fits = []
    for _ in range(2):
        probe = threads_seen()
        model = RNNClassifier(**QUICK, callbacks=[probe]).set_params(max_epochs=3)
        fits.append(model.fit(X, y).predict_proba(X))
        assert set(probe.counts_) == {1}
    assert_array_equal(fits[0], fits[1])
    assert torch.get_num_threads() == 2
