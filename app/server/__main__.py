"""``python -m app.server``: run the service (what ``make run`` and the container do).

The command first runs itself again under ``PYTHONMALLOC=malloc`` unless the variable is set
(:func:`~app.server.serve.with_system_allocator`); the re-run stays out of
:func:`~app.server.serve.main`, which tests and ``backprop serve`` call in their own process.
"""

from app.server.serve import main, with_system_allocator

with_system_allocator()
main()
