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
