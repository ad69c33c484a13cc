"""forge: from source to a rolled-out Kubernetes deployment in one command."""

__version__ = "0.1.0"
