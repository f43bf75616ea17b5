"""The daemon: `recorderd run` assembles index, engine, recorder, actions and services; `recorderd events`."""
