"""Durable batch jobs: the item table, the workers that lease items, and the executors that run them."""
