"""The toy world that proves the video stack learns: procedural captioned clips (:mod:`.dataset`), a pixel detector
and prompt-match accuracy (:mod:`.detector.evaluate`), training configs (``configs/``) and the small trained model
(``checkpoint/``, a diffusers pipeline folder)."""
