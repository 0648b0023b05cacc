"""scikit-learn's estimator checks on small, seeded instances of each estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_rnn import RNNClassifier, RNNRegressor, SequenceWindower

# A window depends on the rows before it, so transforming rows in another
# order, or a subset of rows, changes the windows: no windower can pass these.
WINDOWER_XFAIL = {
    "check_methods_sample_order_invariance": (
        "a window holds the rows before it, so reordering the rows changes every window by design"
    ),
    "check_methods_subset_invariance": (
        "a window holds the rows before it, so a subset of rows has other windows "
        "(its first rows get padding, or the fitted rows' tail, as history) by design"
    ),
}

# The check demands predictions equal to rtol=1e-7 after fitting on weights
# versus repeated rows. The two losses are the same sum, but float32 gradient
# training accumulates rounding in another order and ends ~1e-4 apart;
# scikit-learn lists this check as failing for its own MLPRegressor and
# SGDRegressor for that reason. tests/test_regressor.py checks the
# equivalence at a float32 training tolerance instead.
REGRESSOR_XFAIL = {
    "check_sample_weight_equivalence_on_dense_data": (
        "float32 minibatch training reaches weighted and repeated fits only to "
        "~1e-4, not the check's rtol=1e-7"
    ),
}

# The same check for the classifier: weights of 2 and duplicated rows reach
# probabilities ~1e-3 apart after 100 epochs of float32 minibatch training
# (scikit-learn lists it as failing for MLPClassifier too).
# tests/test_classifier.py checks the equivalence at a training tolerance.
CLASSIFIER_XFAIL = {
    "check_sample_weight_equivalence_on_dense_data": (
        "float32 minibatch training reaches weighted and repeated fits only to "
        "~1e-3 in probability, not the check's rtol=1e-7"
    ),
}

ESTIMATORS = [
    SequenceWindower(),
    SequenceWindower(window=3, padding="zero", flatten=True),
    SequenceWindower(window=2, padding="edge"),
    SequenceWindower(window=4, history="none"),
    # The defaults, untuned: API.md's conformance promise.
    RNNRegressor(),
    RNNRegressor(cell="gru", hidden_size=16, num_layers=2, random_state=0),
    RNNRegressor(hidden_size=8, bidirectional=True, random_state=0),
    # Default parameters, as API.md requires, and two small seeded variants.
    RNNClassifier(),
    RNNClassifier(cell="gru", hidden_size=16, max_epochs=30, lr=1e-2, random_state=0),
    RNNClassifier(
        cell="rnn", hidden_size=8, bidirectional=True, max_epochs=30, lr=1e-2, random_state=0
    ),
]


def expected_failed_checks(estimator):
    if isinstance(estimator, SequenceWindower):
        return WINDOWER_XFAIL
    if isinstance(estimator, RNNClassifier):
        return CLASSIFIER_XFAIL
    return REGRESSOR_XFAIL


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", [SequenceWindower(), RNNRegressor(), RNNClassifier()])
def test_tags_tell_the_truth(estimator):
    tags = estimator.__sklearn_tags__()
    assert tags.input_tags.two_d_array
    assert not tags.input_tags.sparse
    if isinstance(estimator, RNNRegressor):
        assert tags.input_tags.three_d_array
        assert tags.target_tags.multi_output
        assert not tags.regressor_tags.poor_score
    if isinstance(estimator, RNNClassifier):
        assert tags.input_tags.three_d_array
        assert tags.estimator_type == "classifier"
        assert tags.classifier_tags.multi_class
        assert not tags.classifier_tags.multi_label
        assert not tags.classifier_tags.poor_score
        assert not tags.target_tags.multi_output
