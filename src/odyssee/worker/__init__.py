"""Background work: the durable task queue in the database, the worker loop, and the approval PDF.

Layering: ``worker`` sits beside ``api`` — it uses ``model``, ``domain`` and ``db``, and nothing
below imports it except the CLI and the hook the approval creation calls (``enqueue_approval_pdf``).
"""
