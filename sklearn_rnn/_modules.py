"""The recurrent network itself: plain PyTorch, usable without scikit-learn."""

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
# Above this many distinct lengths in a batch, one packed call is cheaper than
# one call per length.
GROUPED_LENGTHS = 8


class RecurrentNetwork(nn.Module):
    """Stacked RNN, LSTM or GRU with a linear head on the last observed step.

    Parameters
    ----------
    n_features : int
        Features per time step.
    n_outputs : int
        Values predicted per sequence.
    cell : {"rnn", "lstm", "gru"}, default="lstm"
        Recurrent layer type.
    hidden_size : int, default=64
        Features in the hidden state.
    num_layers : int, default=1
        Stacked recurrent layers.
    dropout : float, default=0.0
        Dropout between stacked layers.
    bidirectional : bool, default=False
        Run the sequence both ways.
    skip_steps : int, default=0
        If positive, add a linear map of the last ``skip_steps`` steps to the
        output (an autoregressive skip connection, as in LSTNet).

    Notes
    -----
    ``forward(X, lengths=None)`` takes ``X`` of shape
    ``(batch, n_timesteps, n_features)``. Sequences shorter than
    ``n_timesteps`` are padded at the front and ``lengths`` gives their
    observed steps; the padding never reaches the recurrent layer. One-way
    networks move the padding behind the observations and read the output at
    the last observed step (one fused call for the whole batch); bidirectional
    ones run one fused call per distinct length, or pack many lengths.

    Examples
    --------
    >>> import torch
    >>> net = RecurrentNetwork(n_features=3, n_outputs=2, cell="gru", hidden_size=8)
    >>> net(torch.zeros(5, 7, 3)).shape
    torch.Size([5, 2])
    """

    def __init__(
        self,
        n_features,
        n_outputs,
        cell="lstm",
        hidden_size=64,
        num_layers=1,
        dropout=0.0,
        bidirectional=False,
        skip_steps=0,
    ):
        super().__init__()
        self.rnn = CELLS[cell](
            input_size=n_features,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
            batch_first=True,
        )
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), n_outputs)
        self.skip_steps = skip_steps
        self.skip = None
        if skip_steps:
            # Starts at zero: the network begins as the recurrent part alone.
            self.skip = nn.Linear(skip_steps * n_features, n_outputs, bias=False)
            nn.init.zeros_(self.skip.weight)

    def forward(self, X, lengths=None):
        out = self._recurrent(X, lengths)
        if self.skip is None:
            return out
        return out + self.skip(self.skip_inputs(X))

    def skip_inputs(self, X):
        """The inputs of the linear skip: the last ``skip_steps`` steps, flattened.

        Padding steps are 0, and so are the steps before a shorter sequence: an
        autoregressive part learned with the recurrent one.
        """
        batch, n_steps, n_features = X.shape
        k = self.skip_steps
        if n_steps >= k:
            last = X[:, n_steps - k :]
        else:
            last = torch.cat([X.new_zeros(batch, k - n_steps, n_features), X], 1)
        return last.reshape(batch, k * n_features)

    def _recurrent(self, X, lengths=None):
        n_steps = X.shape[1]
        if lengths is None or int(lengths.min()) == n_steps:
            return self.head(self.rnn(X)[0][:, -1])
        if not self.rnn.bidirectional:
            return self.head(self._last_step_causal(X, lengths))
        distinct = torch.unique(lengths)
        if len(distinct) > GROUPED_LENGTHS:
            return self.head(self._last_step_packed(X, lengths))
        # Few lengths (the usual case: a window batch holds at most a few
        # padded rows): one fused, unpacked call per length, each on its
        # sequences with the common padding dropped, beats packing by far.
        order = torch.argsort(lengths, stable=True)
        counts = torch.bincount(lengths[order] - int(distinct[0]))
        pieces, start = [], 0
        for length in distinct.tolist():
            count = int(counts[length - int(distinct[0])])
            rows = order[start : start + count].to(X.device)
            start += count
            pieces.append(self.rnn(X[rows, n_steps - length :])[0][:, -1])
        inverse = torch.empty_like(order)
        inverse[order] = torch.arange(len(order))
        return self.head(torch.cat(pieces)[inverse.to(X.device)])

    @staticmethod
    def _padding_to_back(X, lengths_dev):
        # Padding sits at the front; rotate each sequence left by its number
        # of padding steps so that its observations come first.
        n_steps = X.shape[1]
        shift = (n_steps - lengths_dev).unsqueeze(1)
        steps = torch.arange(n_steps, device=X.device).unsqueeze(0)
        index = (steps + shift) % n_steps
        return torch.gather(X, 1, index.unsqueeze(2).expand_as(X))

    def _last_step_causal(self, X, lengths):
        # A one-way recurrence is causal: its output at step t depends on steps
        # <= t only. With the padding moved behind the observations, the output
        # at step length-1 is exactly that of the unpadded sequence, and the
        # whole batch, whatever its mix of lengths, is one fused call.
        batch = X.shape[0]
        lengths_dev = lengths.to(X.device)
        out, _ = self.rnn(self._padding_to_back(X, lengths_dev))
        last = (lengths_dev - 1).view(batch, 1, 1).expand(batch, 1, out.shape[2])
        return out.gather(1, last).squeeze(1)

    def _last_step_packed(self, X, lengths):
        batch = X.shape[0]
        lengths_dev = lengths.to(X.device)
        # Both directions of a bidirectional layer must see the observations
        # only: pack them.
        X = self._padding_to_back(X, lengths_dev)
        packed = pack_padded_sequence(X, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True)
        last = (lengths_dev - 1).view(batch, 1, 1).expand(batch, 1, out.shape[2])
        return out.gather(1, last).squeeze(1)
