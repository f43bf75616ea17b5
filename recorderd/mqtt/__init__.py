"""MQTT: a paho-mqtt client driven from trio, and the recorderd topic layout with Home Assistant discovery."""
