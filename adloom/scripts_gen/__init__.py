"""Everything text: LLM backends, the creative library and retrieval, structuring,
script variants, shot prompts and ad-law compliance."""
