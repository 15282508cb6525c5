"""Use cases of the read side (apply a batch, heal gaps, read with read-your-writes) and their ports."""
