"""recorderd: records and alarms on the event streams of HTTP-CGI IP cameras."""

__version__ = "0.1.0"
