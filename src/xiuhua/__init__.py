"""Xiuhua (绣花): digital urban management for Chinese cities."""

__version__ = "0.1.0"
