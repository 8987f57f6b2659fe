"""Packaging and deployment to AWS: reproducible Lambda zips, the offline dry run, the stack."""

from sosw_core.deploy.package import Artifact, Package, build_function_zip, build_layer_zip, build_package
from sosw_core.deploy.plan import DeployPlan, plan_deploy

__all__ = ["Artifact", "DeployPlan", "Package", "build_function_zip", "build_layer_zip", "build_package",
           "plan_deploy"]
