"""Console strings: one YAML file per page (``common.yaml`` for the frame), each key in zh and en."""
