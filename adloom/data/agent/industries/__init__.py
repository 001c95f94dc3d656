"""Industry knowledge packs: general, law-compliant expert background for the answer agent (zh and en)."""
