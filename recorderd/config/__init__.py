"""Configuration: TOML file -> typed, validated objects."""
