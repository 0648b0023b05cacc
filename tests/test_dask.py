"""Model selection on a dask.distributed cluster through joblib's dask backend.

One LocalCluster (two worker processes, one thread each, on 127.0.0.1, no
dashboard) serves the whole file. Every search here is also run in this
process with ``n_jobs=1``: the cluster must give the same numbers.
"""

import os
import pickle
import re

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from sklearn_rnn import RNNRegressor, SequenceWindower, make_supervised

distributed = pytest.importorskip("distributed")

# With dashboard_address=None the scheduler still serves its health routes
# (on 127.0.0.1); when another cluster holds the default port it moves to a
# free one and says so.
pytestmark = pytest.mark.filterwarnings("ignore:Port .* is already in use:UserWarning")

CV = TimeSeriesSplit(n_splits=3)
GRID = {"sequencewindower__window": [3, 6]}


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    t = np.arange(160) * 0.3
    series = np.column_stack([np.sin(t), np.cos(0.5 * t)]) + 0.05 * rng.normal(size=(t.size, 2))
    return make_supervised(series, horizon=1, target=0)


def make_model(**params):
    return make_pipeline(
        StandardScaler(),
        SequenceWindower(),
        RNNRegressor(cell="gru", hidden_size=8, max_epochs=4, lr=1e-2, random_state=0, **params),
    )


class ThreadProbe(Callback):
    """Records the process and torch's intra-op thread count at every epoch."""

    def initialize(self):
        self.seen_ = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.seen_.append((os.getpid(), torch.get_num_threads()))


def probed_fit(model, X, y, n_threads=None):
    """Fit ``model`` where this runs; report torch's threads around and during it.

    With ``n_threads``, the fit runs under that torch setting, as if the
    caller had chosen it, and the previous setting is put back afterwards.
    """
    previous = torch.get_num_threads()
    if n_threads is not None:
        torch.set_num_threads(n_threads)
    try:
        before = torch.get_num_threads()
        model.fit(X, y)
        after = torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)
    probe = dict(model[-1].net_.callbacks_)["user_0"]
    return model, before, after, probe.seen_


def test_grid_search_on_cluster_equals_local(client, data):
    X, y = data
    local = GridSearchCV(make_model(), GRID, cv=CV, n_jobs=1).fit(X, y)

    with (
        distributed.get_task_stream(client) as stream,
        joblib.parallel_config(backend="dask"),
    ):
        remote = GridSearchCV(make_model(), GRID, cv=CV, n_jobs=-1).fit(X, y)

    # Every fold of every candidate ran on the workers, not in this process.
    calls = [re.search(r"_(\d+)_calls", str(task["key"])) for task in stream.data]
    assert sum(int(c.group(1)) for c in calls if c) == 2 * CV.n_splits
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"],
        local.cv_results_["mean_test_score"],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        remote.cv_results_["split0_test_score"],
        local.cv_results_["split0_test_score"],
        rtol=1e-6,
    )
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(remote.predict(X), local.predict(X), rtol=1e-6)


def test_model_fitted_on_worker_predicts_on_client(client, data):
    X, y = data
    best = make_model().set_params(sequencewindower__window=6)
    remote = client.submit(clone(best).fit, X, y, pure=False).result()
    here = clone(best).fit(X, y)

    assert remote[-1].n_iter_ == 4
    np.testing.assert_allclose(remote.predict(X), here.predict(X), rtol=1e-6)
    # ...and it survives another round trip, as a saved model would.
    again = pickle.loads(pickle.dumps(remote))
    np.testing.assert_array_equal(again.predict(X[:10]), remote.predict(X[:10]))


def test_cross_val_score_on_cluster_equals_local(client, data):
    X, y = data
    local = cross_val_score(make_model(), X, y, cv=CV, n_jobs=1)
    with joblib.parallel_config(backend="dask"):
        remote = cross_val_score(make_model(), X, y, cv=CV, n_jobs=-1)
    np.testing.assert_allclose(remote, local, rtol=1e-6)


def test_workers_do_not_oversubscribe(client, data):
    X, y = data
    worker_threads = client.nthreads()
    torch_threads = client.run(torch.get_num_threads)
    assert torch_threads.keys() == worker_threads.keys()
    for address, n in torch_threads.items():
        assert 1 <= n <= worker_threads[address]

    model = make_model(callbacks=[ThreadProbe()])
    future = client.submit(probed_fit, model, X, y, pure=False)
    fitted, before, after, seen = future.result()
    (address,) = client.who_has(future)[future.key]

    # Training ran in a worker process, never with more threads than the
    # worker has, and left the worker's torch setting as it found it.
    assert len(seen) == 4
    assert {pid for pid, _ in seen} == {client.run(os.getpid, workers=[address])[address]}
    assert all(n <= worker_threads[address] for _, n in seen)
    assert after == before == torch_threads[address]
    assert client.run(torch.get_num_threads) == torch_threads
    assert fitted.predict(X).shape == y.shape


def test_worker_thread_setting_restored_after_fit(client, data):
    # A task that widened torch's pool (say, for its own large model): a
    # small network still trains on one thread there, and the task's setting
    # is back when the fit returns.
    X, y = data
    model = make_model(callbacks=[ThreadProbe()])
    _, before, after, seen = client.submit(
        probed_fit, model, X, y, n_threads=2, pure=False
    ).result()
    assert before == after == 2
    assert [n for _, n in seen] == [1] * 4


def test_auto_device_resolves_on_worker(client, data):
    X, y = data
    model = make_model().set_params(rnnregressor__device="auto")
    fitted = client.submit(model.fit, X, y, pure=False).result()
    rnn = fitted[-1]
    worker_cuda = client.run(torch.cuda.is_available)
    if not torch.cuda.is_available():
        # Whatever device the worker trained on (a GPU worker trains on CUDA),
        # the model arrives on this CPU-only client as a CPU model.
        assert rnn.device_ == "cpu"
        assert next(rnn.module_.parameters()).device.type == "cpu"
    elif all(worker_cuda.values()):
        assert rnn.device_.startswith("cuda")
    y_pred = fitted.predict(X)
    assert y_pred.shape == y.shape
    assert np.isfinite(y_pred).all()
