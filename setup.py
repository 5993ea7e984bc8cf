"""Package layout only (metadata is in pyproject.toml).

The product card fixes the top-level folders `app/` and `resources/`; they install as the
packages `mmla_app` and `mmla_resources` so they cannot collide with another `app` module.
"""

from setuptools import find_packages, setup

APP_PACKAGES = ["mmla_app", *(f"mmla_app.{p}" for p in find_packages("app"))]

RESOURCE_PACKAGES = ["mmla_resources", "mmla_resources.demo", "mmla_resources.icons"]

setup(
    packages=[*find_packages(include=["mmla_core", "mmla_core.*"]), *APP_PACKAGES,
              *RESOURCE_PACKAGES],
    package_dir={"mmla_app": "app", "mmla_resources": "resources"},
    package_data={"mmla_resources": ["*.desktop"], "mmla_resources.demo": ["*"],
                  "mmla_resources.icons": ["*"]},
)
