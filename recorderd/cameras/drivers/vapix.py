"""VAPIX (param.cgi API v3.00, Axis): see axis.py for the shared streams."""

from recorderd.cameras.drivers.axis import VapixDriver

DRIVER = VapixDriver
