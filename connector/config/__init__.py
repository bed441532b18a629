"""The config: load YAML/JSON, expand ${VAR}, validate against config_schema/, typed read-only Settings."""

from connector.config.endpoint import INSTANCES
from connector.config.parse import load_config, parse_config
from connector.config.schema import load_schema
from connector.config.settings import InputSettings, Secret, Settings

__all__ = ["INSTANCES", "InputSettings", "Secret", "Settings", "load_config", "load_schema", "parse_config"]
