"""Everything pixels for ads: compose renderer, the DiT/VAE video stack, quality gate."""
