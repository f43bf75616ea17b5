"""The leaf every other package builds on: errors, backoff, rate-limited logging, the clock, the bus.

Nothing here imports another recorderd package (docs/DESIGN.md, "Layers").
"""
