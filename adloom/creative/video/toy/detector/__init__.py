"""A rule-based pixel detector for toy-world clips (:mod:`.evaluate`)."""
