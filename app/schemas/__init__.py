"""Request and response models: the API contract, validated once at the boundary.

One module per group of endpoints (``passes``: /forward, /loss, /backward; ``training``: /train;
``init``: /init), on top of ``base`` (strict numbers, the error helpers) and ``network``.
"""
