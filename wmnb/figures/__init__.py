"""Every figure of the book, one module per topic, and the interactive explorers (:mod:`.explorer`)."""
