"""Exported scripts: a network (and its training run) as a PyTorch script (``pytorch``), a NumPy
script (``numpy``) or a PyTorch state_dict, built from plain data (:mod:`.spec`)."""
