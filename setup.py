"""Build glue that setup.cfg cannot say: ship config_schema/ inside the package as connector.config_schema."""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["connector", "connector.*"]) + ["connector.config_schema"],
    package_dir={"connector.config_schema": "config_schema"},
    package_data={"connector.config_schema": ["*.json"]},
)
