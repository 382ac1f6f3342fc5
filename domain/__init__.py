"""The domain: entities, rules, ports and use cases. Pure Python, no I/O."""
