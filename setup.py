"""Package list computed from the tree, so new sub-packages (pipelines/font/data, demos …) need no edit here.

Everything else lives in pyproject.toml; the folders are mapped there with ``package-dir``.
"""
from setuptools import find_packages, setup

PACKAGES = (["creative_gan"]
            + [f"creative_gan.{p}" for p in find_packages("creative_gan")]
            + ["creative_gan.pipelines"]
            + [f"creative_gan.pipelines.{p}" for p in find_packages("pipelines")]
            + ["creative_gan.demos"]
            + [f"creative_gan.demos.{p}" for p in find_packages("demos")])

setup(packages=PACKAGES)
