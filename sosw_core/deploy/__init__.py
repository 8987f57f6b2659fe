"""Packaging and deployment to AWS: reproducible Lambda zips and the CloudFormation stack."""

from sosw_core.deploy.package import Artifact, Package, build_function_zip, build_layer_zip, build_package

__all__ = ["Artifact", "Package", "build_function_zip", "build_layer_zip", "build_package"]
