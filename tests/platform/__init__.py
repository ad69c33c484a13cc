"""The test platform: real parts (Docker engine, registry, base images, processes) for the test tiers."""
