"""The IP Camera Open API: see axis.py for the shared streams."""

from recorderd.cameras.drivers.axis import OpenapiDriver

DRIVER = OpenapiDriver
