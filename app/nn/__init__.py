"""Pure NumPy engine for dense networks: no web framework imports, no global state.

Conventions, stated once: a layer computes ``z = x @ W.T + b`` and ``a = activation(z)`` with
``W`` of shape ``(units, inputs)``; batches are 2-D arrays of shape ``(samples, features)``;
everything is float64. Non-finite intermediate values raise :class:`app.nn.errors.NonFiniteError`.
"""
