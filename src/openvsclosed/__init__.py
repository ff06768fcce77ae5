"""openvsclosed: measure whether open-weight LLMs have caught up with closed API models."""

__version__ = "0.1.0"
