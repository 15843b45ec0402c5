"""Training plumbing, apart from what is trained (models/): the learning-rate schedule
and optimizer, the phased and resumable fit loop, step backups for fault tolerance and
the distribution strategies (one machine, mirrored, parameter servers). It imports no
model code; the fit loop only expects two methods of the model: ``backbone_trunk()`` (the
layers the warm-up freezes) and ``accuracy_metrics()``.
models/trainer.py's run_fn calls into it."""
