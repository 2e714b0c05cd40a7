"""erase: remove a concept from a generative model, keep everything else, and measure both."""

__version__ = "0.1.0"
