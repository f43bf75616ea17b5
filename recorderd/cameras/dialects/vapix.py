"""Seed 002 (param.cgi API v3.00, Axis): see axis.py for the shared streams."""

from recorderd.cameras.dialects.axis import VapixDriver

DRIVER = VapixDriver
