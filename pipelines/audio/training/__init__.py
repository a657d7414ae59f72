"""Training glue for the shared trainer: the corpus as batches, the note objective, :class:`~.task.AudioTask`.

Nothing outside this package imports it except the CLI's ``train`` verb: release models load without it.
"""
