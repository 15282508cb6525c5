"""Domain: the read models' pure rules (projector, documents, keywords, conversations, generations); no I/O."""
