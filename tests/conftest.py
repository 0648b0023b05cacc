"""Fixtures shared by the test files."""

import pytest
import torch
from skorch.callbacks import Callback


class ThreadsSeen(Callback):
    """torch's intra-op thread count during every training batch."""

    def initialize(self):
        self.counts_ = []
        return self

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.counts_.append(torch.get_num_threads())


@pytest.fixture
def threads_seen():
    """The :class:`ThreadsSeen` callback class."""
    return ThreadsSeen


@pytest.fixture
def restore_torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _fit_and_predict_threads(estimator, X, y, X_predict, setting):
    """Fit ``estimator`` (LSTM hidden 64, 2 epochs) with torch set to
    ``setting`` threads, check that every training batch ran on at most that
    many, starting on one, and that the setting is given back; then predict
    ``X_predict`` (``predict_proba`` for a classifier) and return the fit's
    batch thread counts, those of the prediction's chunks, and the prediction."""
    torch.set_num_threads(setting)
    probe = ThreadsSeen()
    model = estimator(
        hidden_size=64, max_epochs=2, random_state=0, callbacks=[probe], device="cpu"
    ).fit(X, y)
    assert torch.get_num_threads() == setting
    assert set(probe.counts_) <= set(range(1, setting + 1))
    assert probe.counts_[0] == 1  # one thread first: never slower than torch's default
    seen = []
    model.module_.register_forward_pre_hook(lambda *_: seen.append(torch.get_num_threads()))
    predict = getattr(model, "predict_proba", model.predict)
    prediction = predict(X_predict)
    assert set(seen) <= set(range(1, setting + 1))
    assert torch.get_num_threads() == setting
    return probe.counts_, seen, prediction


@pytest.fixture
def fit_and_predict_threads(restore_torch_threads):
    """:func:`_fit_and_predict_threads`, with torch's setting restored after the test."""
    return _fit_and_predict_threads
