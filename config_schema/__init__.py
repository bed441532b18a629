"""The JSON Schema files of braze-export, shipped inside the package as connector.config_schema."""
