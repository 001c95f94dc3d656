"""Feedback, the ground-truth simulator, CTR/CVR prediction, ranking and reports."""
