"""The recurrent network itself: plain PyTorch, usable without scikit-learn."""

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
# Above this many distinct lengths in a training batch, one packed call is
# cheaper than one call per length.
GROUPED_LENGTHS = 8
# Prediction batches are padded to a multiple of this many rows, so that a
# row's output does not depend on the rows batched with it.
ROW_TILE = 16


class RecurrentNetwork(nn.Module):
    """Stacked RNN, LSTM or GRU with a linear head on the whole sequence's summary.

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
    head_dropout : float, default=0.0
        Dropout on the recurrent summary that the linear head reads (in
        training mode only).
    bidirectional : bool, default=False
        Run the sequence both ways.
    skip_steps : int, default=0
        If positive, add a linear map of the last ``skip_steps`` steps to the
        output (an autoregressive skip connection, as in LSTNet).
    input_init : {"torch", "unit"}, default="torch"
        The first recurrent layer's input weights at the start. ``"torch"``:
        PyTorch's, uniform in ``±1/sqrt(hidden_size)``, the scale of a sum
        over the hidden units. ``"unit"``: uniform in ``±1``, so that each
        input of unit scale (standardised windows) moves every gate by order
        one from the first step, whatever the hidden size; with PyTorch's
        start at 64 units a gate starts nearly linear in its input. The
        other weights keep PyTorch's start.
    n_tokens : int or None, default=None
        With ``embedding_dim``: the number of token ids (rows of the embedding).
    embedding_dim : int or None, default=None
        If set, ``X`` holds integer token ids ``(batch, n_timesteps)``, read
        through ``nn.Embedding(n_tokens, embedding_dim, padding_idx=0)``
        (``n_features`` is then ignored): id 0 is padding, whose row is zero
        and never trained.

    Notes
    -----
    ``forward(X, lengths=None)`` takes ``X`` of shape
    ``(batch, n_timesteps, n_features)``. Sequences shorter than
    ``n_timesteps`` are padded at the front and ``lengths`` gives their
    observed steps; the padding never reaches the recurrent layer. The head
    reads the forward direction at the last observed step and, for
    bidirectional networks, the backward direction at the first observed step:
    each direction where it has seen the whole sequence. One-way networks move
    the padding behind the observations (one fused call for the whole batch);
    bidirectional ones run one fused call per distinct length (training packs
    batches of many lengths instead).

    In eval mode, a sequence's output does not depend on the other sequences
    of its batch when the batch is a whole number of ``ROW_TILE`` rows (as
    the estimators' prediction batches are): per-length groups are padded to
    whole tiles too.

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
        head_dropout=0.0,
        input_init="torch",
        n_tokens=None,
        embedding_dim=None,
    ):
        super().__init__()
        self.embedding = None
        if embedding_dim is not None:
            self.embedding = nn.Embedding(n_tokens, embedding_dim, padding_idx=0)
            n_features = embedding_dim
            skip_steps = 0
        self.rnn = CELLS[cell](
            input_size=n_features,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
            batch_first=True,
        )
        if input_init == "unit":
            with torch.no_grad():
                for name, weight in self.rnn.named_parameters():
                    # weight_ih_l0 and weight_ih_l0_reverse: the layer that reads X.
                    if name.startswith("weight_ih_l0"):
                        weight.mul_(hidden_size**0.5)
        elif input_init != "torch":
            raise ValueError(f"input_init must be 'torch' or 'unit', got {input_init!r}.")
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), n_outputs)
        self.head_dropout = nn.Dropout(head_dropout)
        self.skip_steps = skip_steps
        self.skip = None
        if skip_steps:
            # Starts at zero: the network begins as the recurrent part alone.
            self.skip = nn.Linear(skip_steps * n_features, n_outputs, bias=False)
            nn.init.zeros_(self.skip.weight)

    def forward(self, X, lengths=None):
        if self.embedding is not None:
            return self._recurrent_ids(X, lengths)
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

    def _recurrent_ids(self, X, lengths):
        # Token ids: embedded, then read as any front-padded float sequence.
        # A sequence of padding only (an empty document) is summarised by the
        # recurrent layer's initial state, zero: it is run as one step and
        # its output replaced, so its padding still reaches nothing.
        X = self.embedding(X)
        if lengths is None:
            return self._recurrent(X)
        empty = lengths == 0
        if not bool(empty.any()):
            return self._recurrent(X, lengths)
        summary = self._summary_of(X, lengths.clamp(min=1))
        summary = summary.masked_fill(empty.to(summary.device).unsqueeze(1), 0.0)
        return self.head(self.head_dropout(summary))

    def _recurrent(self, X, lengths=None):
        return self.head(self.head_dropout(self._summary_of(X, lengths)))

    def _summary_of(self, X, lengths=None):
        # What the head reads: see _summary.
        n_steps = X.shape[1]
        if lengths is None or int(lengths.min()) == n_steps:
            return self._summary(self.rnn(X)[0])
        if not self.rnn.bidirectional:
            return self._last_step_causal(X, lengths)
        distinct = torch.unique(lengths)
        if self.training and len(distinct) > GROUPED_LENGTHS:
            return self._last_step_packed(X, lengths)
        return self._by_length(X, lengths, distinct)

    def _summary(self, out, lengths=None):
        """What the head reads from the top layer's outputs ``out``
        ``(batch, steps, directions * hidden)``, whose observations start at
        step 0 and end at step ``lengths - 1`` (the last step when None).

        The forward direction has seen the whole sequence at its last observed
        step; the backward direction runs from the last step to the first, so
        it has seen the whole sequence only at the FIRST observed step (at the
        last one it has seen one step).
        """
        if lengths is None:
            last = out[:, -1]
        else:
            index = (lengths.to(out.device) - 1).view(-1, 1, 1).expand(-1, 1, out.shape[2])
            last = out.gather(1, index).squeeze(1)
        if not self.rnn.bidirectional:
            return last
        hidden = self.rnn.hidden_size
        return torch.cat([last[:, :hidden], out[:, 0, hidden:]], dim=1)

    def _by_length(self, X, lengths, distinct):
        # Few lengths (the usual case: a window batch holds at most a few
        # padded rows): one fused, unpacked call per length, each on its
        # sequences with the common padding dropped, beats packing by far.
        # In inference, every path reads each row the same way whatever rows
        # share its batch: here each group is padded to whole row tiles, as
        # the prediction batches are (matrix kernels round the rows of a
        # partial tile differently), and many lengths are grouped, not
        # packed (a packed step's rows depend on the other sequences).
        n_steps = X.shape[1]
        order = torch.argsort(lengths, stable=True)
        counts = torch.bincount(lengths[order] - int(distinct[0]))
        pieces, start = [], 0
        for length in distinct.tolist():
            count = int(counts[length - int(distinct[0])])
            rows = order[start : start + count].to(X.device)
            start += count
            group = X[rows, n_steps - length :]
            if not self.training and count % ROW_TILE:
                fill = ROW_TILE - count % ROW_TILE
                group = torch.cat([group, group.new_zeros((fill, *group.shape[1:]))])
            pieces.append(self._summary(self.rnn(group)[0][:count]))
        inverse = torch.empty_like(order)
        inverse[order] = torch.arange(len(order))
        return torch.cat(pieces)[inverse.to(X.device)]

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
        out, _ = self.rnn(self._padding_to_back(X, lengths.to(X.device)))
        return self._summary(out, lengths)

    def _last_step_packed(self, X, lengths):
        # Both directions of a bidirectional layer must see the observations
        # only: pack them (training only, see _by_length).
        X = self._padding_to_back(X, lengths.to(X.device))
        packed = pack_padded_sequence(X, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True)
        return self._summary(out, lengths)
