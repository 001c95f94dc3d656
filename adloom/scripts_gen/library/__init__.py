"""The creative library: import, embeddings, vector index and retrieval."""
