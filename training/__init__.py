"""Training plumbing, apart from what is trained (models/): the learning-rate schedule
and optimizer, the phased and resumable fit loop, step backups for fault tolerance and
the distribution strategies (one machine, mirrored, parameter servers). Nothing here
knows SICoT's streams or losses; models/trainer.py's run_fn calls into it."""
